"""The rule time scale: one transformation of the rules as written (durations divided, per-time
rates multiplied, counts kept), the identity at 1, and series steps that follow it."""

from __future__ import annotations

import pytest

from edgewatch.server.alert import GroupTiming, ReceiverConfig, ReceiverKind, load_default_rules
from edgewatch.server.detect import REAL_TIME, TimeScale, scale_ruleset
from edgewatch.server.detect._context import Window
from edgewatch.server.detect._params import PARAMS

REAL_TIME_SECONDS = {"max_skew_s", "latency_min_absolute_s"}
"""Parameters in seconds that measure the real clock or real latency, not the fleet's time."""


def test_scale_one_is_the_identity() -> None:
    rules = load_default_rules()
    assert scale_ruleset(rules, REAL_TIME) is rules


def test_every_duration_is_divided_and_every_rate_multiplied() -> None:
    rules = load_default_rules()
    scaled = scale_ruleset(rules, TimeScale(60))
    assert [r.name for r in scaled.rules] == [r.name for r in rules.rules]
    for before, after in zip(rules.rules, scaled.rules, strict=True):
        assert after.window_s == pytest.approx(before.window_s / 60)
        assert after.interval_s == pytest.approx(before.interval_s / 60)
        assert after.for_s == pytest.approx(before.for_s / 60)
        assert after.keep_firing_for_s == pytest.approx(before.keep_firing_for_s / 60)
        assert after.threshold == before.threshold
        spec = PARAMS[before.detector]
        for name, value in before.params.items():
            factor = {"time": 1 / 60, "rate": 60.0}.get(spec[name].scales, 1.0)
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert after.params[name] == pytest.approx(value * factor), (before.name, name)
            else:
                assert after.params[name] == value
    leak = scaled.rule("MemoryLeak")
    assert leak.window_s == 360.0 and leak.params["min_slope_per_hour"] == 1.2e9
    power = scaled.rule("PowerRiseAtLoad")
    assert power.params["reference_window_s"] == 1440.0 and power.params["min_points"] == 8
    assert scaled.rule("DeviceOffline").params["export_interval_s"] == 1.0
    assert scaled.rule("ThroughputDrop").params["min_expected"] == 30  # counts stay


def test_receiver_grouping_timings_scale_and_http_timeouts_do_not() -> None:
    receiver = ReceiverConfig(
        "hook",
        ReceiverKind.WEBHOOK,
        "http://127.0.0.1:9/x",
        timing=GroupTiming(("alertname",), 30.0, 300.0, 14_400.0),
    )
    rules = load_default_rules()
    scaled = scale_ruleset(type(rules)(rules.rules, (receiver,)), TimeScale(60)).receivers[0]
    assert (scaled.timing.group_wait_s, scaled.timing.group_interval_s) == (0.5, 5.0)
    assert scaled.timing.repeat_interval_s == 240.0
    assert scaled.timeout_s == receiver.timeout_s


def test_every_parameter_in_seconds_declares_whether_it_scales() -> None:
    for detector, spec in PARAMS.items():
        for name, param in spec.items():
            if name.endswith("_s") and name not in REAL_TIME_SECONDS:
                assert param.scales == "time", (detector, name)
            if name.endswith("_per_hour"):
                assert param.scales == "rate", (detector, name)


def test_steps_and_seasons_follow_the_scale() -> None:
    scale = TimeScale(60)
    assert (scale.minute_s, scale.day_s, scale.week_s) == (1.0, 1440.0, 10_080.0)
    assert Window(100.5, 130.7).minutes(scale.minute_s) == Window(100.0, 130.0)
    assert Window(100.5, 190.7).minutes() == Window(60.0, 180.0)


@pytest.mark.parametrize("factor", [0.0, -1.0])
def test_a_scale_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="rule time scale must be > 0"):
        TimeScale(factor)
