"""Seasonal expectations: what a window should hold, judged by the same time of day (or of
week) over past periods, so a quiet night is not a drop and a busy noon does not hide one."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

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
