"""Explicit-bucket histograms for queries, and quantiles over any mix of histogram kinds.

The OTel SDKs' default Histogram aggregation has explicit bounds. Bucket ``i`` holds values in
``(bounds[i-1], bounds[i]]``; the first and last are open. A quantile is interpolated linearly
inside the bucket it falls in, as Prometheus' ``histogram_quantile`` does: the first bucket's
lower edge is 0 when its upper bound is positive, and a quantile in the ``+Inf`` bucket is the
highest finite bound. Where the data carry a min or max, those close the open ends instead
(tighter, and never outside the observed range).

Series of one selection may hold several bound sets, or exponential histograms beside
explicit ones. Each bucket is then a uniform interval and the quantile is read off the mixture
of all intervals: for a single bound set this is exactly the interpolation above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgewatch.detectors import ExpHistogram, bucket_index


@dataclass(frozen=True, slots=True)
class ExplicitHistogram:
    """Explicit-bucket histograms merged per bound set: ``parts`` holds (bounds, counts)."""

    parts: tuple[tuple[tuple[float, ...], tuple[int, ...]], ...]
    count: int
    sum: float
    min: float
    max: float

    @property
    def mean(self) -> float:
        """Mean of the values (NaN when empty)."""
        return self.sum / self.count if self.count else math.nan


Interval = tuple[float, float, int]
"""(low, high, count): ``count`` values spread uniformly over ``[low, high]``."""


def explicit_intervals(h: ExplicitHistogram) -> list[Interval]:
    """Each bucket of ``h`` as an interval, open ends closed as the module docstring says."""
    out: list[Interval] = []
    lo_known = not math.isnan(h.min)
    hi_known = not math.isnan(h.max)
    for bounds, counts in h.parts:
        for i, c in enumerate(counts):
            if not c:
                continue
            if not bounds:
                low, high = (h.min, h.max) if lo_known and hi_known else (0.0, 0.0)
            elif i == 0:
                high = bounds[0]
                low = h.min if lo_known else (0.0 if high > 0 else high)
                low = min(low, high)
            elif i == len(bounds):
                low = bounds[-1]
                high = max(h.max, low) if hi_known else low
            else:
                low, high = bounds[i - 1], bounds[i]
            if lo_known:
                low = min(max(low, h.min), high)
            if hi_known:
                high = max(min(high, h.max), low)
            out.append((low, high, c))
    return out


def exp_intervals(h: ExpHistogram) -> list[Interval]:
    """Each bucket of an exponential histogram as an interval (the zero bucket at 0)."""
    base = 2.0 ** (2.0**-h.scale)
    out: list[Interval] = []
    if h.zero_count:
        out.append((0.0, 0.0, int(h.zero_count)))
    for i, c in enumerate(h.positive_counts.tolist()):
        if c:
            j = h.positive_offset + i
            out.append((base**j, base ** (j + 1), int(c)))
    for i, c in enumerate(h.negative_counts.tolist()):
        if c:
            j = h.negative_offset + i
            out.append((-(base ** (j + 1)), -(base**j), int(c)))
    return out


def interval_quantile(intervals: Sequence[Interval], q: float) -> float:
    """The ``q``-quantile of a mixture of uniform intervals (NaN when empty).

    The cumulative count is piecewise linear between the intervals' ends (with a step at each
    one-point interval), so the answer is the first end where it reaches ``q * total``, or the
    point inside the segment before it where the line does. That end is found by bisection
    (the count never falls), so a histogram of many buckets costs n log n, not n².
    """
    live = [(lo, hi, c) for lo, hi, c in intervals if c > 0]
    if not live:
        return math.nan
    lows = np.array([i[0] for i in live])
    highs = np.array([i[1] for i in live])
    counts = np.array([i[2] for i in live], dtype=np.float64)
    rank = q * counts.sum()
    width = highs - lows
    spread = width > 0
    safe_width = np.where(spread, width, 1.0)
    points = np.unique(np.concatenate([lows, highs]))

    def before(x: float) -> float:
        """Values below ``x``: the spread ones' share left of it, and one-point ones before it."""
        inside = np.clip((x - lows) / safe_width, 0.0, 1.0)
        return float((counts * np.where(spread, inside, lows < x)).sum())

    def upto(x: float) -> float:
        """Values at or below ``x``."""
        return before(x) + float(counts[~spread & (lows == x)].sum())

    first, stop = 0, len(points)
    while first < stop:
        mid = (first + stop) // 2
        if upto(float(points[mid])) >= rank:
            stop = mid
        else:
            first = mid + 1
    if first == len(points):
        return float(points[-1])
    x = float(points[first])
    prev_x, prev_f = (
        (float(points[first - 1]), upto(float(points[first - 1]))) if first else (x, 0.0)
    )
    left = before(x)
    if left >= rank and left > prev_f:
        return prev_x + (x - prev_x) * (rank - prev_f) / (left - prev_f)
    return x


SKETCH_SCALE = 3
"""Scale of ``as_exp_histogram``: buckets about 9 % wide, finer than any explicit bound set
the OTel SDKs default to, so the spread adds little to the interpolation's own error."""
_OPEN_LOW = 2.0**-10
"""Where a bucket open towards 0 (no min known) starts, relative to its upper bound; uniform
density puts only 0.1 % of its values below it."""


def as_exp_histogram(h: ExplicitHistogram, scale: int = SKETCH_SCALE) -> ExpHistogram:
    """``h`` as an exponential histogram for the detectors, which take only that kind: each
    bucket's values are spread uniformly (as the interpolation assumes) over the exponential
    buckets it overlaps, rounded so every count stays whole; count, sum, min and max are kept.
    Callers cap its width (``_select.fit``) as they do for every merged histogram.
    """
    pos: dict[int, int] = {}
    neg: dict[int, int] = {}
    zero = 0
    intervals = explicit_intervals(h)
    for lo, hi, c in intervals:
        if lo < 0 < hi:  # split at zero by length
            below = round(c * -lo / (hi - lo))
            _spread(neg, 0.0, -lo, below, scale)
            _spread(pos, 0.0, hi, c - below, scale)
        elif hi <= 0 and lo < 0:
            _spread(neg, -hi, -lo, c, scale)
        elif hi > 0:
            _spread(pos, lo, hi, c, scale)
        else:
            zero += c
    pos_offset, pos_counts = _dense_side(pos)
    neg_offset, neg_counts = _dense_side(neg)
    # Unknown extremes are the intervals' ends: the detectors' quantiles clamp to them.
    lowest = h.min if not math.isnan(h.min) else min((i[0] for i in intervals), default=h.min)
    highest = h.max if not math.isnan(h.max) else max((i[1] for i in intervals), default=h.max)
    return ExpHistogram(
        scale, zero, pos_offset, pos_counts, neg_offset, neg_counts, h.count, h.sum, lowest,
        highest,
    )  # fmt: skip


def _spread(side: dict[int, int], lo: float, hi: float, c: int, scale: int) -> None:
    """Add ``c`` values spread uniformly over ``[lo, hi]`` (magnitudes) to ``side``."""
    if c <= 0:
        return
    lo = max(lo, hi * _OPEN_LOW)
    first, last = (int(i) for i in bucket_index(np.array([lo, hi]), scale))
    if first == last or hi <= lo:
        side[last] = side.get(last, 0) + c
        return
    base = 2.0 ** (2.0**-scale)
    idx = np.arange(first, last + 1)
    overlap = np.minimum(base ** (idx + 1), hi) - np.maximum(base**idx, lo)
    share = c * np.clip(overlap, 0.0, None) / (hi - lo)
    whole = np.floor(share).astype(np.int64)
    short = c - int(whole.sum())  # largest remainders take the rest
    whole[np.argsort(whole - share)[:short]] += 1
    for i, n in zip(idx.tolist(), whole.tolist(), strict=True):
        if n:
            side[i] = side.get(i, 0) + n


def _dense_side(side: dict[int, int]) -> tuple[int, npt.NDArray[np.int64]]:
    if not side:
        return 0, np.zeros(0, dtype=np.int64)
    lo = min(side)
    out = np.zeros(max(side) - lo + 1, dtype=np.int64)
    for i, n in side.items():
        out[i - lo] += n
    return lo, out
