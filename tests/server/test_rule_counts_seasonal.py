"""Issue #14 findings 5 and 6 at the evaluator: a day/night device's quiet night is not a
throughput drop (and a drop at a busy noon is still found); one error after an error-free
day is not an error-rate increase. The store is replaced by per-minute rate functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from edgewatch.collector import semconv
from edgewatch.detectors import Verdict
from edgewatch.server.alert import ScopeLevel, load_default_rules
from edgewatch.server.alert._config import Rule
from edgewatch.server.detect import REAL_TIME
from edgewatch.server.detect._context import Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS
from edgewatch.server.detect._members import Member
from edgewatch.server.store import Selection

DAY = 86_400.0
T0 = 1_700_000_000.0 // DAY * DAY  # a UTC midnight
Rate = Callable[[float], float]


class FakeContext:
    """``Context.series`` over per-minute counts given as functions of the minute's time."""

    scale = REAL_TIME

    def __init__(self, rates: dict[str, Rate], now_s: float) -> None:
        self.rates = rates
        self.now_s = now_s

    def series(
        self, member: Member, signal: Signal, window: Window, step_s: float, agg: str | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        rate = self.rates[signal.metric + "".join(f"{k}={v}" for k, v in signal.attributes)]
        minutes = np.arange(np.ceil(window.start_s / 60) * 60, window.end_s, 60.0)
        minutes = minutes[minutes >= T0 - 30 * DAY]
        if minutes.size == 0:
            return np.empty(0), np.empty(0)
        total = float(sum(rate(float(t)) for t in minutes))
        return np.asarray([window.start_s]), np.asarray([total])


def _member(first_seen_s: float) -> Member:
    device: Any = SimpleNamespace(first_seen=datetime.fromtimestamp(first_seen_s, UTC))
    return Member(ScopeLevel.DEVICE, (("device", "d"),), Selection(device_id="d"), device)


def _builtin(name: str) -> Rule:
    return next(r for r in load_default_rules().rules if r.name == name)


def day_night(t: float) -> float:
    """100 inferences a minute from 06:00 to 22:00, 10 at night."""
    hour = (t % DAY) / 3600
    return 100.0 if 6 <= hour < 22 else 10.0


def _throughput(now_s: float, rate: Rate, **params: Any) -> Verdict:
    rule = _builtin("ThroughputDrop")
    rule = replace(rule, params={**rule.params, **params})
    ctx: Any = FakeContext({semconv.INFERENCE_COUNT: rate}, now_s)
    window = Window(now_s - rule.window_s, now_s)
    (finding,) = EVALUATORS[rule.detector](ctx, rule, _member(T0 - 2 * DAY), window)
    return finding.result.verdict


def test_a_quiet_night_is_not_a_throughput_drop() -> None:
    night = T0 + 2.5 * 3600
    assert _throughput(night, day_night) is Verdict.NO_DRIFT
    # The flat previous-24-hour average (the old expectation) pages every night.
    assert _throughput(night, day_night, season="none") is Verdict.DRIFT


def test_a_drop_at_busy_noon_is_not_hidden_by_the_daily_average() -> None:
    noon = T0 + 12 * 3600

    def dropped(t: float) -> float:
        return 40.0 if t >= noon - 3600 else day_night(t)

    assert _throughput(noon, dropped) is Verdict.DRIFT
    assert _throughput(noon, dropped, season="none") is Verdict.NO_DRIFT  # 43 % < 50 %


def test_one_past_outage_does_not_move_the_expectation() -> None:
    noon = T0 + 12 * 3600

    def outage_two_days_ago(t: float) -> float:
        return 0.0 if noon - 2 * DAY - 3600 <= t < noon - 2 * DAY else day_night(t)

    assert _throughput(noon, outage_two_days_ago) is Verdict.NO_DRIFT


ERRORS = f"{semconv.INFERENCE_COUNT}{semconv.OUTCOME}={semconv.OUTCOME_ERROR}"


def _errors(error_rate: Rate) -> Verdict:
    rule = _builtin("ErrorRateIncrease")
    now = T0 + 12 * 3600
    ctx: Any = FakeContext({semconv.INFERENCE_COUNT: day_night, ERRORS: error_rate}, now)
    (finding,) = EVALUATORS[rule.detector](
        ctx, rule, _member(T0 - DAY), Window(now - rule.window_s, now)
    )
    return finding.result.verdict


def test_one_error_after_an_error_free_day_is_not_an_alert() -> None:
    now = T0 + 12 * 3600
    assert _errors(lambda t: 1.0 if t == now - 120 else 0.0) is Verdict.NO_DRIFT


def test_an_error_burst_is_an_alert() -> None:
    now = T0 + 12 * 3600
    assert _errors(lambda t: 5.0 if t >= now - 600 else 0.0) is Verdict.DRIFT
