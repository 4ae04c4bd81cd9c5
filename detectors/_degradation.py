"""Degradation tests over histograms and time series: quantile regression, trend (Theil–Sen +
Mann–Kendall), rate drop (Poisson) and missing heartbeat. Pure: time comes in as arguments."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from edgewatch.detectors._histogram import ExpHistogram, quantile
from edgewatch.detectors._result import DEFAULT_MIN_SAMPLES, DriftResult, Verdict, fmt, insufficient

DEFAULT_MAX_POINTS = 5000
"""Largest series ``trend`` accepts: it compares all n·(n−1)/2 pairs (memory grows as n²)."""
SECONDS_PER_HOUR = 3600.0

Direction = Literal["increasing", "decreasing", "both"]


def _finite(
    name: str, value: float, *, minimum: float | None = None, strict: bool = False
) -> float:
    v = float(value)
    if not math.isfinite(v) or (minimum is not None and (v <= minimum if strict else v < minimum)):
        rel = ">" if strict else ">="
        bound = f" and {rel} {minimum}" if minimum is not None else ""
        raise ValueError(f"{name} must be finite{bound}, got {value!r}")
    return v


def _verdict(drifted: bool) -> Verdict:
    return Verdict.DRIFT if drifted else Verdict.NO_DRIFT


def quantile_regression(
    baseline: ExpHistogram,
    current: ExpHistogram,
    q: float = 0.95,
    *,
    min_relative: float = 0.2,
    min_absolute: float = 0.0,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> DriftResult:
    """Did the ``q``-quantile rise by more than ``min_relative`` (share of the baseline) *and*
    more than ``min_absolute`` (units of the values)? Score: relative rise.

    Both effects must hold, so a p95 of 2 ms → 3 ms is not paged when ``min_absolute=0.005``.
    Example: ``quantile_regression(last_week, today, 0.95, min_absolute=0.005)``.
    """
    for name, h in (("baseline", baseline), ("current", current)):
        if not isinstance(h, ExpHistogram):
            raise ValueError(f"{name} must be an ExpHistogram, got {type(h).__name__}")
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    _finite("min_relative", min_relative, minimum=0)
    _finite("min_absolute", min_absolute, minimum=0)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise ValueError(f"min_samples must be an int >= 1, got {min_samples!r}")
    method = f"quantile_regression(p{q * 100:g})"
    if min(baseline.count, current.count) < min_samples:
        return insufficient(
            method,
            min_relative,
            f"{min(baseline.count, current.count)} values, fewer than min_samples={min_samples}",
            reference_count=baseline.count,
            current_count=current.count,
        )
    base, now = quantile(baseline, q), quantile(current, q)
    rise = now - base
    relative = rise / abs(base) if base != 0 else (math.inf if rise > 0 else 0.0)
    drifted = relative > min_relative and rise > min_absolute
    # Each quantile is interpolated inside one bucket: relative error ≤ bucket growth factor − 1.
    growth = 2.0 ** (2.0 ** -min(baseline.scale, current.scale)) - 1.0
    return DriftResult(
        method=method,
        score=relative,
        threshold=min_relative,
        verdict=_verdict(drifted),
        explanation=(
            f"p{q * 100:g} {fmt(base)} → {fmt(now)} ({'+' if rise >= 0 else ''}{fmt(relative * 100)} %, "
            f"{'+' if rise >= 0 else ''}{fmt(rise)}); regression needs > {fmt(min_relative * 100)} % "
            f"and > {fmt(min_absolute)} → {'regressed' if drifted else 'no regression'}"
        ),
        reference_count=baseline.count,
        current_count=current.count,
        binning_error=2 * growth,
    )


def _as_series(
    timestamps_s: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    t = np.asarray(timestamps_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.ndim != 1 or t.size != v.size:
        raise ValueError(
            f"timestamps_s and values must be 1-D of equal length, got shapes {t.shape} and {v.shape}"
        )
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
        raise ValueError("timestamps_s and values must be finite (drop missing points first)")
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def trend(
    timestamps_s: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    min_slope_per_hour: float,
    alpha: float = 0.05,
    direction: Direction = "increasing",
    min_points: int = 10,
    max_points: int = DEFAULT_MAX_POINTS,
) -> DriftResult:
    """Monotonic trend (memory leak, heating): Theil–Sen slope with a Mann–Kendall test.

    Drift when the Mann–Kendall p-value (one-sided in ``direction``) is below ``alpha`` and
    the Theil–Sen slope, in value units per hour, reaches ``min_slope_per_hour`` in that
    direction. O(n²) pairs: series longer than ``max_points`` raise (downsample them first).
    Example: ``trend(t_s, rss_bytes, min_slope_per_hour=10e6)``.
    Reference: Sen (1968), JASA 63; Mann (1945); Kendall (1975), "Rank correlation methods".
    """
    t, v = _as_series(timestamps_s, values)
    _finite("min_slope_per_hour", min_slope_per_hour, minimum=0)
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if direction not in ("increasing", "decreasing", "both"):
        raise ValueError(f"direction must be increasing, decreasing or both, got {direction!r}")
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 3:
        raise ValueError(f"min_points must be an int >= 3, got {min_points!r}")
    if t.size > max_points:
        raise ValueError(
            f"trend: {t.size} points exceed max_points={max_points}; downsample the series first"
        )
    method = "trend"
    if t.size < min_points or t[-1] == t[0]:
        return insufficient(
            method,
            min_slope_per_hour,
            f"{t.size} points, need {min_points} over a time span",
            current_count=int(t.size),
        )
    i, j = np.triu_indices(t.size, k=1)
    dt = t[j] - t[i]
    dv = v[j] - v[i]
    timed = dt > 0
    slope = float(np.median(dv[timed] / dt[timed])) * SECONDS_PER_HOUR
    s = float(np.sum(np.sign(dv) * np.sign(dt)))
    n = t.size
    _, ties = np.unique(v, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18
    z = 0.0 if var <= 0 or s == 0 else (s - math.copysign(1.0, s)) / math.sqrt(var)
    if direction == "increasing":
        p = 0.5 * math.erfc(z / math.sqrt(2))
        steep = slope >= min_slope_per_hour
    elif direction == "decreasing":
        p = 0.5 * math.erfc(-z / math.sqrt(2))
        steep = slope <= -min_slope_per_hour
    else:
        p = math.erfc(abs(z) / math.sqrt(2))
        steep = abs(slope) >= min_slope_per_hour
    drifted = p < alpha and steep
    span_h = (t[-1] - t[0]) / SECONDS_PER_HOUR
    return DriftResult(
        method=method,
        score=slope,
        threshold=min_slope_per_hour,
        verdict=_verdict(drifted),
        explanation=(
            f"Theil–Sen slope {fmt(slope)}/h over {fmt(span_h)} h ({n} points), Mann–Kendall "
            f"p = {fmt(p)} ({direction}); trend needs p < {fmt(alpha)} and |slope| ≥ "
            f"{fmt(min_slope_per_hour)}/h → {'trend' if drifted else 'no trend'}"
        ),
        p_value=p,
        current_count=n,
    )


def rate_drop(
    observed: int,
    expected: float,
    *,
    alpha: float = 0.01,
    min_relative_drop: float = 0.2,
    min_expected: float = 10.0,
) -> DriftResult:
    """Throughput drop: ``observed`` events where a Poisson rate predicts ``expected``.

    Drift when P(X ≤ observed | expected) < ``alpha`` and the drop is at least
    ``min_relative_drop``; fewer than ``min_expected`` expected events → insufficient data.
    Example: ``rate_drop(observed=40, expected=120.0)``.
    """
    if isinstance(observed, bool) or not isinstance(observed, int | np.integer) or observed < 0:
        raise ValueError(f"observed must be a non-negative int, got {observed!r}")
    _finite("expected", expected, minimum=0)
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (math.isfinite(min_relative_drop) and 0 <= min_relative_drop < 1):
        raise ValueError(f"min_relative_drop must be in [0, 1), got {min_relative_drop!r}")
    _finite("min_expected", min_expected, minimum=0)
    if expected < min_expected or expected == 0:
        return insufficient(
            "rate_drop",
            min_relative_drop,
            f"expected {fmt(expected)} events < min_expected={fmt(min_expected)}",
            current_count=int(observed),
        )
    from scipy.stats import poisson  # lazy: only p-values need scipy

    p = float(poisson.cdf(int(observed), expected))
    drop = 1.0 - int(observed) / expected
    drifted = p < alpha and drop >= min_relative_drop
    return DriftResult(
        method="rate_drop",
        score=drop,
        threshold=min_relative_drop,
        verdict=_verdict(drifted),
        explanation=(
            f"{int(observed)} events where {fmt(expected)} were expected ({fmt(drop * 100)} % drop, "
            f"Poisson p = {fmt(p)}); a drop needs p < {fmt(alpha)} and ≥ {fmt(min_relative_drop * 100)} % "
            f"→ {'rate dropped' if drifted else 'rate normal'}"
        ),
        p_value=p,
        current_count=int(observed),
    )


def missing_heartbeat(
    last_seen_s: float | None,
    now_s: float,
    interval_s: float,
    *,
    missed_intervals: float = 3.0,
) -> DriftResult:
    """A device that has not reported for ``missed_intervals`` export intervals.

    Times are Unix seconds passed in (no clock here); ``last_seen_s=None`` (never reported)
    gives insufficient data. Example: ``missing_heartbeat(last_s, now_s, 60.0)``.
    """
    _finite("now_s", now_s)
    _finite("interval_s", interval_s, minimum=0, strict=True)
    _finite("missed_intervals", missed_intervals, minimum=0, strict=True)
    if last_seen_s is None:
        return insufficient("missing_heartbeat", missed_intervals, "device never reported")
    last = _finite("last_seen_s", last_seen_s)
    silent_s = max(now_s - last, 0.0)
    missed = silent_s / interval_s
    drifted = missed >= missed_intervals
    return DriftResult(
        method="missing_heartbeat",
        score=missed,
        threshold=missed_intervals,
        verdict=_verdict(drifted),
        explanation=(
            f"last report {fmt(silent_s)} s ago = {fmt(missed)} intervals of {fmt(interval_s)} s; "
            f"missing after {fmt(missed_intervals)} → {'missing' if drifted else 'reporting'}"
        ),
    )
