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

from edgewatch.detectors import ExpHistogram


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
    point inside the segment before it where the line does.
    """
    live = [(lo, hi, c) for lo, hi, c in intervals if c > 0]
    if not live:
        return math.nan
    lows = np.array([i[0] for i in live])
    highs = np.array([i[1] for i in live])
    counts = np.array([i[2] for i in live], dtype=np.float64)
    rank = q * counts.sum()
    width = highs - lows
    points = np.unique(np.concatenate([lows, highs]))
    prev_x, prev_f = points[0], 0.0
    for x in points.tolist():
        inside = np.clip((x - lows) / np.where(width > 0, width, 1.0), 0.0, 1.0)
        left = float((counts * np.where(width > 0, inside, 0.0)).sum())  # F just before x
        right = left + float(counts[(width == 0) & (lows == x)].sum())  # F at x
        if left >= rank and left > prev_f:
            return float(prev_x + (x - prev_x) * (rank - prev_f) / (left - prev_f))
        if right >= rank:
            return float(x)
        prev_x, prev_f = x, right
    return float(points[-1])
