"""Issue #14 findings 3 and 7 at the evaluator: the built-in power rule reads whole minutes
(all of a window's one-minute buckets, whatever second it runs at), compares a quiet night with
nights, and finds a 1.4x power rise. The store is replaced by per-minute functions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from edgewatch.collector import semconv
from edgewatch.detectors import Verdict
from edgewatch.server.alert import ScopeLevel, load_default_rules
from edgewatch.server.detect import REAL_TIME
from edgewatch.server.detect._context import Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS
from edgewatch.server.detect._members import Member
from edgewatch.server.store import Selection

DAY = 86_400.0
T0 = 1_700_000_000.0 // DAY * DAY


def inferences(t: float) -> float:
    hour = (t % DAY) / 3600
    wobble = 1.0 + 0.15 * np.sin(t / 437.0)
    return (600.0 if 6 <= hour < 22 else 60.0) * wobble


class MinuteContext:
    """Per-minute buckets starting on whole minutes, as the 1-minute rollups serve them."""

    scale = REAL_TIME

    def __init__(self, power_factor_after: float | None) -> None:
        self.after = power_factor_after
        self.reads: list[Window] = []

    def series(
        self, member: Member, signal: Signal, window: Window, step_s: float, agg: str | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        self.reads.append(window)
        t = np.arange(np.ceil(window.start_s / 60) * 60, window.end_s, 60.0)
        load = np.asarray([inferences(x) for x in t])
        if signal.metric == semconv.INFERENCE_COUNT:
            return t, load
        watts = 4.0 + 0.01 * load + 0.1 * np.cos(t / 91.0)
        if self.after is not None:
            watts = np.where(t >= self.after, watts * 1.4, watts)
        return t, watts


def _evaluate(now_s: float, ctx: MinuteContext) -> Verdict:
    rule = next(r for r in load_default_rules().rules if r.name == "PowerRiseAtLoad")
    member = Member(
        ScopeLevel.DEVICE,
        (("device", "d"),),
        Selection(device_id="d"),
        SimpleNamespace(),  # type: ignore[arg-type]
    )
    any_ctx: Any = ctx
    (finding,) = EVALUATORS[rule.detector](
        any_ctx, rule, member, Window(now_s - rule.window_s, now_s)
    )
    return finding.result.verdict


def test_windows_hold_whole_minutes() -> None:
    ctx = MinuteContext(None)
    _evaluate(T0 + 12 * 3600 + 37.5, ctx)
    current = ctx.reads[-1]
    assert current.start_s % 60 == 0 and current.end_s % 60 == 0
    rule = next(r for r in load_default_rules().rules if r.name == "PowerRiseAtLoad")
    assert current.length_s == rule.window_s  # every bucket whole: 10 of them, not 9


def test_a_quiet_night_draws_no_alert() -> None:
    assert _evaluate(T0 + DAY + 2.5 * 3600 + 12.0, MinuteContext(None)) is Verdict.NO_DRIFT


def test_a_40_percent_power_rise_is_found_by_day_and_by_night() -> None:
    for hour in (12.0, 2.5):
        now = T0 + DAY + hour * 3600 + 12.0
        assert _evaluate(now, MinuteContext(now - 1200)) is Verdict.DRIFT, hour
