"""Cumulative → delta per series (``_cumulative``) against a simple oracle, and quantiles of
explicit buckets against Prometheus' ``histogram_quantile`` rule."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.server.store._cumulative import (
    Delta,
    ExpPoint,
    HistPoint,
    Step,
    SumPoint,
    dumps,
    exp_delta,
    hist_delta,
    loads,
    sum_delta,
)
from edgewatch.server.store._explicit import (
    ExplicitHistogram,
    explicit_intervals,
    interval_quantile,
)

lives_strategy = st.lists(
    st.lists(st.integers(0, 50), min_size=1, max_size=6), min_size=1, max_size=4
)
"""Client lives (a restart starts a new one); each export adds that many events."""


def _exports(lives: list[list[int]]) -> list[SumPoint]:
    """Cumulative points as an OTel SDK sends them: a new start time per life."""
    out, t = [], 1_000
    for life, increments in enumerate(lives):
        start, total = 100 + life * 10_000, 0
        t = max(t, start + 1)
        for inc in increments:
            total += inc
            t += 10
            out.append(SumPoint(start, t, float(total)))
    return out


def _run_sums(points: list[SumPoint]) -> list[float]:
    kept: SumPoint | None = None
    deltas = []
    for p in points:
        d = sum_delta(kept, p)
        kept = d.keep
        if d.delta is not None:
            deltas.append(d.delta.value)
    return deltas


@given(lives_strategy, st.data())
def test_in_order_exports_with_duplicates_count_every_event_once(
    lives: list[list[int]], data: st.DataObject
) -> None:
    points = _exports(lives)
    resent = [p for p in points for _ in range(data.draw(st.integers(1, 3)))]
    deltas = _run_sums(resent)
    assert sum(deltas) == sum(map(sum, lives))
    assert all(d >= 0 for d in deltas)


@given(lives_strategy, st.randoms(use_true_random=False))
def test_any_arrival_order_never_goes_negative_nor_overcounts(
    lives: list[list[int]], rnd: object
) -> None:
    points = _exports(lives)
    rnd.shuffle(points)  # type: ignore[attr-defined]
    deltas = _run_sums(points)
    assert all(d >= 0 for d in deltas)
    assert sum(deltas) <= sum(map(sum, lives))


def test_steps_named() -> None:
    first = sum_delta(None, SumPoint(10, 20, 5.0))
    assert (first.step, first.delta) == (Step.FIRST, SumPoint(10, 20, 5.0))
    nxt = sum_delta(first.keep, SumPoint(10, 30, 12.0))
    assert (nxt.step, nxt.delta) == (Step.NEXT, SumPoint(20, 30, 7.0))
    late = sum_delta(nxt.keep, SumPoint(10, 25, 9.0))
    assert (late.step, late.delta, late.keep) == (Step.STALE, None, nxt.keep)
    dup = sum_delta(nxt.keep, SumPoint(10, 30, 12.0))
    assert dup.step is Step.STALE and dup.delta is None
    restart = sum_delta(nxt.keep, SumPoint(35, 40, 2.0))
    assert (restart.step, restart.delta) == (Step.RESET, SumPoint(35, 40, 2.0))
    old_life = sum_delta(restart.keep, SumPoint(10, 50, 20.0))
    assert old_life.step is Step.STALE
    # No start times: a total that goes down is a reset, counted from zero.
    a = sum_delta(None, SumPoint(None, 10, 8.0))
    b = sum_delta(a.keep, SumPoint(None, 20, 3.0))
    assert (b.step, b.delta) == (Step.RESET, SumPoint(10, 20, 3.0))


def _exp_snapshot(start: int, ts: int, events: Counter[int], scale: int, shift: int) -> ExpPoint:
    """A cumulative exponential histogram of ``events`` (bucket index at ``scale``) as the
    SDK sends it after downscaling by ``shift``."""
    buckets: Counter[int] = Counter()
    for i, c in events.items():
        buckets[i >> shift] += c
    lo = min(buckets) if buckets else 0
    hi = max(buckets) if buckets else -1
    counts = tuple(buckets.get(i, 0) for i in range(lo, hi + 1))
    total = sum(events.values())
    return ExpPoint(start, ts, scale - shift, 0, lo, counts, 0, (), total, float(total), None, None)


@settings(max_examples=60)
@given(
    st.lists(
        st.lists(st.lists(st.integers(-40, 40), max_size=8), min_size=1, max_size=5),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.integers(0, 3), min_size=20, max_size=20),
)
def test_exponential_histograms_add_up_across_scale_changes_and_restarts(
    lives: list[list[list[int]]], shifts: list[int]
) -> None:
    scale, kept, t = 3, None, 0
    merged: Counter[int] = Counter()
    expected: Counter[int] = Counter()
    coarsest = scale - max(shifts)
    k = 0
    for life, exports in enumerate(lives):
        events: Counter[int] = Counter()
        shift = 0
        for export in exports:
            events.update(export)
            shift = max(shift, shifts[k % len(shifts)])  # an SDK only ever downscales
            k += 1
            t += 10
            d: Delta[ExpPoint] = exp_delta(
                kept, _exp_snapshot(life * 1_000, t, events, scale, shift)
            )
            kept = d.keep
            assert d.delta is not None
            assert all(c >= 0 for c in d.delta.pos_counts)
            for i, c in enumerate(d.delta.pos_counts):
                merged[(d.delta.pos_offset + i) >> (d.delta.scale - coarsest)] += c
        for i, c in events.items():
            expected[i >> (scale - coarsest)] += c
    assert +merged == +expected


def test_explicit_histograms_subtract_bucketwise_and_new_bounds_reset() -> None:
    bounds = (0.1, 1.0)
    a = HistPoint(5, 10, bounds, (1, 2, 0), 3, 1.5, 0.05, 0.9)
    b = HistPoint(5, 20, bounds, (1, 4, 1), 6, 5.0, 0.05, 2.0)
    d = hist_delta(hist_delta(None, a).keep, b)
    assert d.step is Step.NEXT and d.delta is not None
    assert (d.delta.counts, d.delta.count, d.delta.sum) == ((0, 2, 1), 3, 3.5)
    assert (d.delta.min, d.delta.max) == (None, 2.0)  # only a moved extreme is known
    rebounded = hist_delta(b, HistPoint(5, 30, (0.5,), (7, 0), 7, 7.0, None, None))
    assert rebounded.step is Step.RESET and rebounded.delta is not None
    assert rebounded.delta.count == 7


@pytest.mark.parametrize(
    "point",
    [
        SumPoint(1, 2, 3.0),
        ExpPoint(None, 2, 3, 1, -2, (1, 0, 4), 5, (2,), 8, 1.5, -1.0, 9.0),
        HistPoint(1, 2, (0.5, 1.0), (1, 2, 3), 6, None, None, 3.0),
        ExpPoint(None, 2, 3, 1, -2, (1, 0, 4), 5, (2,), 8, None, None, None),
    ],
)
def test_state_round_trips_through_json(point: SumPoint | ExpPoint | HistPoint) -> None:
    kind = {SumPoint: "sum", ExpPoint: "exp_histogram", HistPoint: "histogram"}[type(point)]
    assert loads(kind, dumps(point)) == point


@pytest.mark.parametrize(
    ("before", "after", "delta"), [(1.5, 4.0, 2.5), (None, 4.0, None), (1.5, None, None)]
)
def test_an_exp_delta_sum_is_unknown_when_a_running_total_left_it_out(
    before: float | None, after: float | None, delta: float | None
) -> None:
    prev = ExpPoint(1, 2, 0, 0, 0, (1, 1), 0, (), 2, before, None, None)
    cur = ExpPoint(1, 3, 0, 0, 0, (2, 3), 0, (), 5, after, None, None)
    d = exp_delta(prev, cur)
    assert d.delta is not None
    assert (d.delta.count, d.delta.pos_counts, d.delta.sum) == (3, (1, 2), delta)


def _prometheus_quantile(q: float, bounds: tuple[float, ...], counts: tuple[int, ...]) -> float:
    """``histogram_quantile`` as Prometheus' promql/quantile.go computes it."""
    upper = [*bounds, math.inf]
    cumulative = np.cumsum(counts)
    rank = q * cumulative[-1]
    b = int(np.searchsorted(cumulative, rank, side="left"))
    if b == len(bounds):
        return bounds[-1]
    start, end = (0.0, upper[0]) if b == 0 else (upper[b - 1], upper[b])
    if b == 0 and end <= 0:
        return end
    below = 0 if b == 0 else cumulative[b - 1]
    return start + (end - start) * (rank - below) / (cumulative[b] - below)


@given(
    st.lists(st.integers(0, 30), min_size=4, max_size=4).filter(lambda c: sum(c[:3]) > 0),
    st.floats(0.01, 0.99),
)
def test_explicit_quantiles_match_prometheus(counts: list[int], q: float) -> None:
    bounds = (0.005, 0.025, 0.1)
    c = (*counts[:3], 0)  # Prometheus' +Inf rule is checked on its own below
    h = ExplicitHistogram(((bounds, c),), sum(c), 0.0, math.nan, math.nan)
    got = interval_quantile(explicit_intervals(h), q)
    assert got == pytest.approx(_prometheus_quantile(q, bounds, c))


def test_open_buckets_use_min_and_max_when_known() -> None:
    bounds = (1.0, 2.0)
    unknown = ExplicitHistogram(((bounds, (0, 0, 4)),), 4, 12.0, math.nan, math.nan)
    assert interval_quantile(explicit_intervals(unknown), 0.5) == 2.0  # Prometheus: last bound
    known = ExplicitHistogram(((bounds, (0, 0, 4)),), 4, 12.0, 2.5, 4.0)
    assert interval_quantile(explicit_intervals(known), 0.5) == pytest.approx(3.25)
    assert math.isnan(interval_quantile([], 0.5))
