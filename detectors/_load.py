"""A gauge (power) judged against its baseline at comparable load: each current minute is
compared with reference minutes whose load (inferences, utilisation) fell in the same band.

Power follows load: a night at 10 % of peak traffic draws idle power, and energy per
inference at night is idle power divided by few inferences. Comparing a window's power with
a day's average, or energy per inference across traffic levels, pages every night. Matching
on load judges only like with like, and a minute whose load the reference never saw is not
judged at all.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edgewatch.detectors._result import DriftResult, Verdict, fmt, insufficient

DEFAULT_LOAD_BANDS = 5
DEFAULT_MIN_BAND_POINTS = 3
"""Reference minutes a load band needs before its median is an expectation."""


def _vector(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a 1-D sequence of finite numbers")
    return v


def load_matched_rise(
    reference_load: npt.ArrayLike,
    reference_values: npt.ArrayLike,
    load: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    min_relative: float = 0.2,
    alpha: float = 0.01,
    bands: int = DEFAULT_LOAD_BANDS,
    min_points: int = 10,
) -> DriftResult:
    """Did the values rise against the reference's at the same load?

    The reference's load is cut into ``bands`` quantile bands; each current point inside the
    reference's load range is divided by the median reference value of its band. Score: the
    median of these ratios − 1. Drift when the score reaches ``min_relative`` and a one-sided
    sign test (more ratios above 1 than chance) gives p < ``alpha``; fewer than
    ``min_points`` comparable points → insufficient data.
    Example: ``load_matched_rise(ref_inferences, ref_watts, inferences, watts)``.
    """
    ref_x, ref_y = (
        _vector("reference_load", reference_load),
        _vector("reference_values", reference_values),
    )
    x, y = _vector("load", load), _vector("values", values)
    if ref_x.size != ref_y.size or x.size != y.size:
        raise ValueError("loads and values must pair up (equal lengths)")
    if not (math.isfinite(min_relative) and min_relative >= 0):
        raise ValueError(f"min_relative must be finite and >= 0, got {min_relative!r}")
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if isinstance(bands, bool) or not isinstance(bands, int) or bands < 1:
        raise ValueError(f"bands must be an int >= 1, got {bands!r}")
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 1:
        raise ValueError(f"min_points must be an int >= 1, got {min_points!r}")
    method = "load_matched_rise"
    if ref_x.size < DEFAULT_MIN_BAND_POINTS:
        return insufficient(method, min_relative, f"{ref_x.size} reference points")
    edges = np.unique(np.quantile(ref_x, np.linspace(0, 1, bands + 1)))
    ref_band = np.clip(np.searchsorted(edges, ref_x, side="right") - 1, 0, max(edges.size - 2, 0))
    expected = np.full(max(edges.size - 1, 1), np.nan)
    for b in range(expected.size):
        members = ref_y[ref_band == b]
        if members.size >= DEFAULT_MIN_BAND_POINTS:
            expected[b] = float(np.median(members))
    inside = (x >= edges[0]) & (x <= edges[-1])
    band = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, expected.size - 1)
    base = np.where(inside, expected[band], np.nan)
    usable = np.isfinite(base) & (base > 0)
    n = int(usable.sum())
    if n < min_points:
        return insufficient(
            method,
            min_relative,
            f"{n} points at a load the reference saw, fewer than min_points={min_points}",
            reference_count=int(ref_x.size),
            current_count=int(x.size),
        )
    ratios = y[usable] / base[usable]
    rise = float(np.median(ratios)) - 1.0
    above = int(np.sum(ratios > 1.0))
    from scipy.stats import binom  # lazy: only p-values need scipy

    p = float(binom.sf(above - 1, n, 0.5))
    drifted = p < alpha and rise >= min_relative
    return DriftResult(
        method=method,
        score=rise,
        threshold=min_relative,
        verdict=Verdict.DRIFT if drifted else Verdict.NO_DRIFT,
        explanation=(
            f"{n} minutes against the reference at the same load: median {'+' if rise >= 0 else ''}"
            f"{fmt(rise * 100)} %, {above} of {n} above (sign test p = {fmt(p)}); a rise needs "
            f"≥ {fmt(min_relative * 100)} % and p < {fmt(alpha)} → "
            f"{'risen' if drifted else 'in line with load'}"
        ),
        p_value=p,
        reference_count=int(ref_x.size),
        current_count=n,
    )
