"""Each incident changes what a device sees or reports in the stated way, only inside its
window and only on its own devices."""

from __future__ import annotations

import numpy as np
import pytest

from edgewatch.demo import (
    V1,
    V2_BAD,
    WITHHELD_DIGIT,
    DeviceConditions,
    Incident,
    InputStream,
    ModelSet,
    gaussian_blur,
)


def drift(**params: float) -> Incident:
    full = {"brightness_offset": 0.0, "blur_sigma": 0.0, "noise_std": 0.0, "ramp_s": 0.0}
    return Incident("sensor_drift", ("d",), 100.0, 200.0, {**full, **params})


def images(models: ModelSet) -> np.ndarray:
    return models.data.test_x[:200]


def test_brightness_offset_lifts_dark_pixels_and_stays_in_sensor_range(models: ModelSet) -> None:
    x = images(models)
    out = DeviceConditions(V1, [drift(brightness_offset=4)]).distort(
        x, 150.0, np.random.default_rng(0)
    )
    dark = x <= 12
    np.testing.assert_allclose(out[dark], x[dark] + 4)
    assert out.max() <= 16 and out.min() >= 0


def test_blur_spreads_ink_but_keeps_brightness(models: ModelSet) -> None:
    x = images(models)
    out = DeviceConditions(V1, [drift(blur_sigma=1.0)]).distort(x, 150.0, np.random.default_rng(0))
    assert out.std(axis=1).mean() < 0.8 * x.std(axis=1).mean()
    np.testing.assert_allclose(out.sum(axis=1), x.sum(axis=1), rtol=0.15)


def test_blur_of_a_single_dot_is_symmetric() -> None:
    dot = np.zeros((1, 64), dtype=np.float32)
    dot[0, 3 * 8 + 3] = 16
    grid = gaussian_blur(dot, 0.5).reshape(8, 8)
    assert grid[3, 3] == grid.max() < 16
    assert grid[2, 3] == pytest.approx(grid[4, 3]) and grid[3, 2] == pytest.approx(grid[3, 4])
    assert grid[2, 3] > 0


def test_blur_keeps_a_uniform_image_uniform() -> None:
    flat = np.full((1, 64), 5.0, dtype=np.float32)
    np.testing.assert_allclose(gaussian_blur(flat, 1.5), flat, rtol=1e-6)


def test_noise_has_the_stated_spread(models: ModelSet) -> None:
    x = np.full((500, 64), 8.0, dtype=np.float32)
    out = DeviceConditions(V1, [drift(noise_std=2.0)]).distort(x, 150.0, np.random.default_rng(0))
    assert (out - x).std() == pytest.approx(2.0, rel=0.05)


def test_drift_ramps_up_from_its_start(models: ModelSet) -> None:
    x = np.zeros((1, 64), dtype=np.float32)
    conditions = DeviceConditions(V1, [drift(brightness_offset=4, ramp_s=50)])
    rng = np.random.default_rng(0)
    assert conditions.distort(x, 125.0, rng)[0, 0] == pytest.approx(2.0)
    assert conditions.distort(x, 175.0, rng)[0, 0] == pytest.approx(4.0)


@pytest.mark.parametrize("t_s", [0.0, 99.9, 200.0, 500.0])
def test_drift_outside_its_window_leaves_images_untouched(models: ModelSet, t_s: float) -> None:
    x = images(models)
    out = DeviceConditions(V1, [drift(brightness_offset=4, noise_std=3)]).distort(
        x, t_s, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(out, x)


def test_unseen_class_feeds_the_withheld_digit_only_during_its_window(models: ModelSet) -> None:
    incident = Incident("unseen_class", ("d",), 100.0, 200.0, {"fraction": 0.5})
    stream = InputStream(models.data, DeviceConditions(V1, [incident]), seed=3)
    before = [stream.next_frame(50.0).digit for _ in range(400)]
    during = [stream.next_frame(150.0).digit for _ in range(400)]
    after = [stream.next_frame(250.0).digit for _ in range(400)]
    assert WITHHELD_DIGIT not in before and WITHHELD_DIGIT not in after
    assert 0.4 <= during.count(WITHHELD_DIGIT) / len(during) <= 0.6


def test_a_healthy_stream_draws_real_test_images_of_every_trained_digit(models: ModelSet) -> None:
    stream = InputStream(models.data, DeviceConditions(V1, []), seed=3)
    test_rows = {row.tobytes() for row in models.data.test_x}
    frames = [stream.next_frame(t) for t in np.linspace(0, 10_000, 300)]
    assert all(f.pixels.tobytes() in test_rows for f in frames)
    assert {f.digit for f in frames} == set(range(10)) - {WITHHELD_DIGIT}


def test_streams_replay_for_a_seed(models: ModelSet) -> None:
    a = InputStream(models.data, DeviceConditions(V1, [drift(noise_std=1)]), seed=5)
    b = InputStream(models.data, DeviceConditions(V1, [drift(noise_std=1)]), seed=5)
    for t in (10.0, 150.0, 160.0):
        np.testing.assert_array_equal(a.next_frame(t).pixels, b.next_frame(t).pixels)


def test_each_incident_kind_acts_only_inside_its_window() -> None:
    window = {"start_s": 100.0, "end_s": 200.0}
    conditions = DeviceConditions(
        V1,
        [
            Incident(
                "latency_regression", ("d",), params={"slowdown": 4.0, "extra_ms": 8.0}, **window
            ),
            Incident("memory_leak", ("d",), params={"rate_mb_per_h": 360.0}, **window),
            Incident("power_increase", ("d",), params={"factor": 1.5}, **window),
            Incident("offline", ("d",), **window),
            Incident("bad_rollout", ("d",), **window),
        ],
    )
    inside, outside = 150.0, (0.0, 99.0, 200.0, 300.0)
    assert conditions.slowdown(inside) == 4.0
    assert conditions.extra_work_s(inside) == pytest.approx(0.008)
    assert conditions.leaked_bytes(inside) == pytest.approx(360 * 2**20 * 50 / 3600)
    assert conditions.power_factor(inside) == 1.5
    assert conditions.offline(inside)
    assert conditions.model_version(inside) == V2_BAD
    assert set(conditions.active_kinds(inside)) == {
        "latency_regression",
        "memory_leak",
        "power_increase",
        "offline",
        "bad_rollout",
    }
    for t in outside:
        assert conditions.slowdown(t) == 1.0
        assert conditions.extra_work_s(t) == 0.0
        assert conditions.leaked_bytes(t) == 0.0
        assert conditions.power_factor(t) == 1.0
        assert not conditions.offline(t)
        assert conditions.model_version(t) == V1
        assert conditions.active_kinds(t) == ()


def test_an_open_ended_incident_lasts_to_the_end() -> None:
    leak = Incident("memory_leak", ("d",), 0.0, None, {"rate_mb_per_h": 100.0})
    conditions = DeviceConditions(V1, [leak])
    assert conditions.leaked_bytes(7200.0) == pytest.approx(200 * 2**20)
