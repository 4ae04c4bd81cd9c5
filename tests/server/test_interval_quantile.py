"""Quantiles over a mixture of uniform intervals (explicit buckets, exponential buckets, the
zero bucket): the bisection agrees with a scan of every interval end, counts one-point
intervals below a later quantile, and answers a histogram of 100,000 buckets."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.server.store._explicit import (
    ExplicitHistogram,
    explicit_intervals,
    interval_quantile,
)


def _scan(intervals: list[tuple[float, float, int]], q: float) -> float:
    """Oracle: walk every interval end in order, the cumulative count recomputed at each."""
    live = [i for i in intervals if i[2] > 0]
    if not live:
        return math.nan
    rank = q * sum(c for _, _, c in live)

    def below(x: float) -> float:
        return sum(
            c * min(max((x - lo) / (hi - lo), 0.0), 1.0) if hi > lo else (c if lo < x else 0)
            for lo, hi, c in live
        )

    prev_x, prev_f = min(lo for lo, _, _ in live), 0.0
    for x in sorted({e for lo, hi, _ in live for e in (lo, hi)}):
        left = below(x)
        right = left + sum(c for lo, hi, c in live if lo == hi == x)
        if left >= rank and left > prev_f:
            return prev_x + (x - prev_x) * (rank - prev_f) / (left - prev_f)
        if right >= rank:
            return x
        prev_x, prev_f = x, right
    return max(hi for _, hi, _ in live)


_ENDS = st.integers(-20, 20).map(float)


@st.composite
def _intervals(draw: st.DrawFn) -> list[tuple[float, float, int]]:
    out = []
    for _ in range(draw(st.integers(0, 8))):
        a, b = sorted((draw(_ENDS), draw(_ENDS)))
        if draw(st.booleans()):
            b = a  # a one-point interval: a zero bucket, or a bucket with min == max
        out.append((a, b, draw(st.integers(0, 50))))
    return out


@settings(max_examples=300, deadline=None)
@given(intervals=_intervals(), q=st.sampled_from([0.0, 0.01, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]))
def test_bisection_agrees_with_a_scan_of_every_end(intervals, q: float) -> None:
    got, want = interval_quantile(intervals, q), _scan(intervals, q)
    # The two interpolate the same interval in a different order of float operations.
    assert (math.isnan(got) and math.isnan(want)) or math.isclose(
        got, want, rel_tol=1e-9, abs_tol=1e-12
    )


def test_values_at_one_point_count_below_a_later_quantile() -> None:
    # ten values at 0 (a zero bucket) and ten spread over [1, 2]: p75 lies inside [1, 2]
    assert interval_quantile([(0.0, 0.0, 10), (1.0, 2.0, 10)], 0.75) == 1.5


def test_a_histogram_of_100k_buckets_has_quantiles() -> None:
    bounds = tuple(float(i) for i in range(1, 100_000))
    h = ExplicitHistogram(((bounds, tuple([1] * 100_000)),), 100_000, 0.0, 0.0, 100_000.0)
    p95 = interval_quantile(explicit_intervals(h), 0.95)
    assert np.isclose(p95, 95_000.0)
