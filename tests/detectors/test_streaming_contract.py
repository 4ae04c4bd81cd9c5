"""One contract for every registered streaming detector (as river's detector test suite):
defaults construct, pickle round trip, reset, determinism, quiet on a stationary stream,
prompt detection of a 3σ mean shift, and the same decisions whatever the units."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from edgewatch.detectors import (
    STREAMING_DETECTORS,
    Cusum,
    EwmaChart,
    PageHinkley,
    Verdict,
    get_streaming_detector,
)

NAMES = sorted(STREAMING_DETECTORS)
SHIFT_WITHIN = 15
"""A 3σ mean shift must be flagged within this many values."""


def _feed(detector: object, values: np.ndarray) -> list[int]:
    """Indexes at which the detector reported a change."""
    hits = []
    for i, v in enumerate(values):
        detector.update(float(v))  # type: ignore[attr-defined]
        if detector.drift_detected:  # type: ignore[attr-defined]
            hits.append(i)
    return hits


def _stream(seed: int, n: int = 3000, mean: float = 5.0, std: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, std, n)


@pytest.mark.parametrize("name", NAMES)
def test_constructs_with_defaults_and_is_registered_by_name(name: str) -> None:
    detector = get_streaming_detector(name)
    assert type(detector).name == name
    assert not detector.drift_detected
    assert detector.result().verdict is Verdict.INSUFFICIENT_DATA


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quiet_on_a_stationary_stream(name: str, seed: int) -> None:
    detector = get_streaming_detector(name)
    assert _feed(detector, _stream(seed, n=1200)) == []
    assert detector.result().verdict is Verdict.NO_DRIFT


FALSE_ALARM_STREAMS = 40
STATED_FALSE_ALARM_SHARE = 0.05
"""Docstrings state: about 5 % of 3,000-value in-control streams raise a false alarm."""


@pytest.mark.parametrize("name", NAMES)
def test_false_alarm_rate_on_in_control_streams(name: str) -> None:
    rng = np.random.default_rng(2024)
    alarmed = 0
    for _ in range(FALSE_ALARM_STREAMS):
        alarmed += bool(_feed(get_streaming_detector(name), rng.normal(0.0, 1.0, 3000)))
    # 40 streams: allow sampling noise of two standard errors above the stated rate.
    assert alarmed / FALSE_ALARM_STREAMS <= STATED_FALSE_ALARM_SHARE + 2 * math.sqrt(
        STATED_FALSE_ALARM_SHARE * (1 - STATED_FALSE_ALARM_SHARE) / FALSE_ALARM_STREAMS
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_detects_a_3_sigma_mean_shift_promptly(name: str, direction: float) -> None:
    rng = np.random.default_rng(7)
    before = rng.normal(5.0, 2.0, 400)
    after = rng.normal(5.0 + direction * 3 * 2.0, 2.0, 100)
    detector = get_streaming_detector(name)
    hits = _feed(detector, before)
    assert hits == []
    steps = 0
    for v in after:
        steps += 1
        detector.update(float(v))
        if detector.drift_detected:
            break
    assert detector.drift_detected, "shift never detected"
    assert steps <= SHIFT_WITHIN
    result = detector.result()
    assert result.verdict is Verdict.DRIFT and result.score > result.threshold


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_continues_identically(name: str) -> None:
    values = np.concatenate([_stream(4, 300), _stream(5, 50, mean=12.0)])
    detector = get_streaming_detector(name)
    _feed(detector, values[:320])
    clone = pickle.loads(pickle.dumps(detector))
    assert _feed(detector, values[320:]) == _feed(clone, values[320:])
    assert detector.result() == clone.result()


@pytest.mark.parametrize("name", NAMES)
def test_reset_equals_a_fresh_detector(name: str) -> None:
    values = np.concatenate([_stream(6, 300), _stream(7, 60, mean=14.0)])
    used = get_streaming_detector(name)
    _feed(used, values)
    used.reset()
    fresh = get_streaming_detector(name)
    assert _feed(used, values) == _feed(fresh, values)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_unit_free(name: str) -> None:
    values = np.concatenate([_stream(8, 400), _stream(9, 100, mean=11.0)])
    first = _feed(get_streaming_detector(name), values)
    assert first == _feed(get_streaming_detector(name), values)
    # Seconds or milliseconds, bytes or megabytes: the same decisions.
    assert first == _feed(get_streaming_detector(name), values * 1000.0 + 7.0)


@pytest.mark.parametrize("name", NAMES)
def test_restarts_after_a_detection(name: str) -> None:
    rng = np.random.default_rng(10)
    detector = get_streaming_detector(name)
    hits = _feed(detector, np.concatenate([rng.normal(0, 1, 300), rng.normal(6, 1, 500)]))
    assert hits[0] >= 300
    # The new level becomes the baseline after a fresh warm-up: no endless alarms.
    assert len(hits) == 1


@pytest.mark.parametrize("name", NAMES)
def test_known_baseline_skips_warm_up(name: str) -> None:
    detector = get_streaming_detector(name, mean=0.0, std=1.0)
    detector.update(0.1)
    assert detector.result().verdict is Verdict.NO_DRIFT
    _feed(detector, np.full(10, 5.0))
    assert detector.result().explanation.startswith(type(detector).label)  # type: ignore[attr-defined]


def test_result_explains_statistic_limit_and_baseline() -> None:
    detector = Cusum(mean=10.0, std=2.0)
    for v in (10.0, 20.0, 20.0, 20.0):
        detector.update(v)
        if detector.drift_detected:
            break
    result = detector.result()
    assert result.verdict is Verdict.DRIFT
    assert result.score > result.threshold == 12.0
    assert "CUSUM" in result.explanation and "baseline mean 10" in result.explanation


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Cusum(slack=0), "slack"),
        (lambda: Cusum(threshold=-1), "threshold"),
        (lambda: PageHinkley(delta=math.nan), "delta"),
        (lambda: EwmaChart(smoothing=1.5), "smoothing"),
        (lambda: EwmaChart(width=0), "width"),
        (lambda: Cusum(warmup=1), "warmup"),
        (lambda: Cusum(mean=1.0), "mean and std"),
        (lambda: Cusum(mean=1.0, std=0.0), "std"),
        (lambda: get_streaming_detector("adwin"), "adwin"),
    ],
)
def test_bad_hyper_parameters_are_named(factory: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()  # type: ignore[operator]


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_values_are_rejected(name: str) -> None:
    detector = get_streaming_detector(name)
    with pytest.raises(ValueError, match="x must be finite"):
        detector.update(math.nan)


def test_constant_warm_up_still_flags_a_change() -> None:
    detector = EwmaChart(warmup=10)
    assert _feed(detector, np.full(20, 3.0)) == []
    detector.update(3.5)
    assert detector.drift_detected
    assert math.isfinite(detector.result().score)
