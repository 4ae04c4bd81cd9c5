"""Seasonal expectations: what a window should hold, judged by the same time of day (or of
week) over past periods, so a quiet night is not a drop and a busy noon does not hide one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from edgewatch.detectors._result import DriftResult, Verdict

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY


def same_time_windows(
    start_s: float, end_s: float, period_s: float, periods: int
) -> list[tuple[float, float]]:
    """The window ``[start_s, end_s)`` shifted back by 1 … ``periods`` whole periods, newest
    first. Example: ``same_time_windows(t0, t0 + 900, 86_400, 7)`` = the same quarter hour on
    each of the past 7 days."""
    if not (math.isfinite(period_s) and period_s > 0):
        raise ValueError(f"period_s must be finite and > 0, got {period_s!r}")
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ValueError(f"periods must be an int >= 1, got {periods!r}")
    if not end_s > start_s:
        raise ValueError(f"end_s must be after start_s, got {start_s!r} .. {end_s!r}")
    if end_s - start_s > period_s:
        raise ValueError("the window must not be longer than the period")
    return [(start_s - k * period_s, end_s - k * period_s) for k in range(1, periods + 1)]


def seasonal_expected(same_time_counts: Sequence[float]) -> float:
    """The expected count of a window from its counts at the same time in past periods: the
    median, so one past outage or burst does not move the expectation; NaN when none.
    Example: ``seasonal_expected([120, 118, 15, 130])`` = 119."""
    values = np.asarray(same_time_counts, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("same_time_counts must be a 1-D sequence of finite counts >= 0")
    return float(np.median(values)) if values.size else math.nan


def drift_in_both(
    against_baseline: DriftResult, against_same_time: DriftResult, history: str
) -> DriftResult:
    """Drift only when a window departs from the baseline *and* from the member's own data at
    the same time of day (or week) in past periods — an intersection–union test (Berger
    1982): its p-value is the larger of the two, so a fixed level (or the FDR control over a
    family) holds for the combination. A night whose inputs always shift is no drift; a new
    shift is. Without same-time history (``history`` says why) the baseline alone decides.
    Example: ``drift_in_both(vs_baseline, vs_past_nights, "7 past days").verdict``."""
    b, s = against_baseline, against_same_time
    if b.verdict is Verdict.INSUFFICIENT_DATA:
        return b
    if s.verdict is Verdict.INSUFFICIENT_DATA:
        return replace(
            b,
            explanation=f"{b.explanation} (no same-time history: {history}; baseline alone)",
        )
    both = b.verdict is Verdict.DRIFT and s.verdict is Verdict.DRIFT
    shown = b if b.verdict is Verdict.NO_DRIFT or both else s
    p_values = [p for p in (b.p_value, s.p_value) if p is not None]
    return replace(
        shown,
        verdict=Verdict.DRIFT if both else Verdict.NO_DRIFT,
        p_value=max(p_values) if p_values else None,
        explanation=(
            f"against the baseline: {b.explanation}; against the same time over {history}: "
            f"{s.explanation} → {'drift in both' if both else 'no new drift'}"
        ),
    )
