"""Cumulative → delta for one series: the rule of the Collector's ``cumulativetodelta``
processor and of Prometheus' ``rate()``, as pure functions over one point and its predecessor.

The OTel SDKs export sums and histograms as running totals since ``start_time_unix_nano``.
Each new cumulative point is compared with the last one kept for its series:

- no predecessor: the point counts from its start time (all of its value is new);
- a later start time, or a total that went down (a value, a count or any bucket): a reset,
  and the point counts from its own start (all of its value is new);
- the same start and a later time: the difference is new;
- an older start, or a time not after the predecessor's (a late point or a duplicate): it
  adds nothing, because the predecessor already holds every event it counted. It is dropped
  and the kept point does not move, so nothing is ever subtracted twice or goes negative.

``Delta`` says which case applied; callers keep ``Delta.keep`` as the series' new state.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, replace
from enum import Enum
from typing import Any, Generic, TypeVar


class Step(Enum):
    """How a cumulative point relates to the kept one."""

    FIRST = "first"
    NEXT = "next"
    RESET = "reset"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class SumPoint:
    """A monotonic cumulative sum's point."""

    start_us: int | None
    ts_us: int
    value: float


@dataclass(frozen=True, slots=True)
class ExpPoint:
    """A cumulative exponential histogram's point (OTLP fields, bucket counts as tuples)."""

    start_us: int | None
    ts_us: int
    scale: int
    zero_count: int
    pos_offset: int
    pos_counts: tuple[int, ...]
    neg_offset: int
    neg_counts: tuple[int, ...]
    count: int
    sum: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class HistPoint:
    """A cumulative explicit-bucket histogram's point."""

    start_us: int | None
    ts_us: int
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int
    sum: float | None
    min: float | None
    max: float | None


P = TypeVar("P", SumPoint, ExpPoint, HistPoint)


@dataclass(frozen=True, slots=True)
class Delta(Generic[P]):
    """What a cumulative point adds (``None`` when stale) and the series' state after it."""

    step: Step
    delta: P | None
    keep: P | None


def step_of(prev: SumPoint | ExpPoint | HistPoint | None, cur: P) -> Step:
    """Classify ``cur`` against the kept point by start time and time alone."""
    if prev is None:
        return Step.FIRST
    if cur.ts_us <= prev.ts_us:
        return Step.STALE
    prev_start, cur_start = prev.start_us or 0, cur.start_us or 0
    if cur_start < prev_start:
        return Step.STALE
    return Step.RESET if cur_start > prev_start else Step.NEXT


def _whole(cur: P, prev: P | None) -> P:
    """``cur`` as a delta counted from its start: unchanged, but its interval starts at
    ``cur.start_us`` (or the predecessor's time when the client sent no start time)."""
    if cur.start_us is None and prev is not None:
        return _with_start(cur, prev.ts_us)
    return cur


def _with_start(p: P, start_us: int | None) -> P:
    return replace(p, start_us=start_us)


def sum_delta(prev: SumPoint | None, cur: SumPoint) -> Delta[SumPoint]:
    """What a monotonic cumulative sum's point adds."""
    step = step_of(prev, cur)
    if step is Step.STALE:
        return Delta(step, None, prev)
    if step is Step.NEXT and prev is not None:
        if cur.value >= prev.value:
            return Delta(step, SumPoint(prev.ts_us, cur.ts_us, cur.value - prev.value), cur)
        step = Step.RESET
    return Delta(step, _whole(cur, prev), cur)


def _downscale(offset: int, counts: tuple[int, ...], shift: int) -> dict[int, int]:
    """Bucket index → count at ``scale - shift`` (index ``i`` becomes ``i >> shift``)."""
    out: dict[int, int] = {}
    for i, c in enumerate(counts):
        if c:
            j = (offset + i) >> shift
            out[j] = out.get(j, 0) + c
    return out


def _dense(buckets: dict[int, int]) -> tuple[int, tuple[int, ...]]:
    if not buckets:
        return 0, ()
    lo, hi = min(buckets), max(buckets)
    return lo, tuple(buckets.get(i, 0) for i in range(lo, hi + 1))


def _minus(a: dict[int, int], b: dict[int, int]) -> dict[int, int] | None:
    """``a - b`` bucket-wise, or None when any bucket went down (a reset)."""
    if any(a.get(i, 0) < c for i, c in b.items()):
        return None
    return {i: c - b.get(i, 0) for i, c in a.items() if c - b.get(i, 0)}


def _new_extreme(cur: float | None, prev: float | None, lower: bool) -> float | None:
    """The delta's min (``lower``) or max: known only when the running extreme moved."""
    if cur is None or prev is None:
        return None
    moved = cur < prev if lower else cur > prev
    return cur if moved else None


def exp_delta(prev: ExpPoint | None, cur: ExpPoint) -> Delta[ExpPoint]:
    """What a cumulative exponential histogram's point adds, at the coarser of the two scales
    (the finer point is downscaled first, as a scale change between exports requires)."""
    step = step_of(prev, cur)
    if step is Step.STALE:
        return Delta(step, None, prev)
    if step is Step.NEXT and prev is not None:
        scale = min(prev.scale, cur.scale)
        ps, cs = prev.scale - scale, cur.scale - scale
        pos = _minus(
            _downscale(cur.pos_offset, cur.pos_counts, cs),
            _downscale(prev.pos_offset, prev.pos_counts, ps),
        )
        neg = _minus(
            _downscale(cur.neg_offset, cur.neg_counts, cs),
            _downscale(prev.neg_offset, prev.neg_counts, ps),
        )
        if (
            pos is not None
            and neg is not None
            and cur.zero_count >= prev.zero_count
            and cur.count >= prev.count
        ):
            pos_offset, pos_counts = _dense(pos)
            neg_offset, neg_counts = _dense(neg)
            delta = ExpPoint(
                prev.ts_us, cur.ts_us, scale, cur.zero_count - prev.zero_count,
                pos_offset, pos_counts, neg_offset, neg_counts, cur.count - prev.count,
                None if cur.sum is None or prev.sum is None else cur.sum - prev.sum,
                _new_extreme(cur.min, prev.min, lower=True),
                _new_extreme(cur.max, prev.max, lower=False),
            )  # fmt: skip
            return Delta(step, delta, cur)
        step = Step.RESET
    return Delta(step, _whole(cur, prev), cur)


def hist_delta(prev: HistPoint | None, cur: HistPoint) -> Delta[HistPoint]:
    """What a cumulative explicit-bucket histogram's point adds; new bounds are a reset."""
    step = step_of(prev, cur)
    if step is Step.STALE:
        return Delta(step, None, prev)
    if step is Step.NEXT and prev is not None:
        diff = [c - p for c, p in zip(cur.counts, prev.counts, strict=False)]
        if (
            cur.bounds == prev.bounds
            and len(cur.counts) == len(prev.counts)
            and all(d >= 0 for d in diff)
            and cur.count >= prev.count
        ):
            total = None if cur.sum is None or prev.sum is None else cur.sum - prev.sum
            delta = HistPoint(
                prev.ts_us, cur.ts_us, cur.bounds, tuple(diff), cur.count - prev.count, total,
                _new_extreme(cur.min, prev.min, lower=True),
                _new_extreme(cur.max, prev.max, lower=False),
            )  # fmt: skip
            return Delta(step, delta, cur)
        step = Step.RESET
    return Delta(step, _whole(cur, prev), cur)


_KINDS: dict[str, type[SumPoint] | type[ExpPoint] | type[HistPoint]] = {
    "sum": SumPoint,
    "exp_histogram": ExpPoint,
    "histogram": HistPoint,
}


def kind_of(point: SumPoint | ExpPoint | HistPoint) -> str:
    """The state kind of a point: sum, exp_histogram or histogram."""
    return {SumPoint: "sum", ExpPoint: "exp_histogram", HistPoint: "histogram"}[type(point)]


def dumps(point: SumPoint | ExpPoint | HistPoint) -> str:
    """A kept point as JSON (the store keeps it in ``cumulative_state.state``)."""
    return json.dumps(astuple(point))


def loads(kind: str, text: str) -> SumPoint | ExpPoint | HistPoint:
    """The point ``dumps`` wrote for a state of ``kind``."""
    cls = _KINDS[kind]
    values: list[Any] = [tuple(v) if isinstance(v, list) else v for v in json.loads(text)]
    return cls(*values)
