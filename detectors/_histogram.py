"""Base-2 exponential histograms: the OTLP ``ExponentialHistogram`` data model and its algebra.

One definition serves the collector (which builds them from blocks of values), the server
(which stores and merges them) and the drift statistics (which compare them). Mergeable across
devices and time without agreed bin edges, which is why the wire uses them.

Bucket ``i`` at scale ``s`` holds values in ``(base**i, base**(i+1)]`` with
``base = 2**(2**-s)``; negative values go to the mirrored negative range, exact zeros to
``zero_count``. Spec: https://opentelemetry.io/docs/specs/otel/metrics/data-model/#exponentialhistogram
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import numpy as np
import numpy.typing as npt

MAX_SCALE = 20
"""Finest scale the OTLP spec allows; histograms start here and shrink to fit."""
MIN_SCALE = -10
"""Coarsest scale the OTLP spec allows."""
DEFAULT_MAX_BUCKETS = 160
"""The OpenTelemetry SDK default: ~4.4 % relative error at the scale 160 buckets allow for 1e-3..1e3."""

_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class ExpHistogram:
    """An immutable exponential histogram; counts are int64 arrays indexed from their offset."""

    scale: int
    zero_count: int
    positive_offset: int
    positive_counts: npt.NDArray[np.int64]
    negative_offset: int
    negative_counts: npt.NDArray[np.int64]
    count: int
    sum: float
    min: float
    max: float

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExpHistogram):
            return NotImplemented
        return (
            self.scale == other.scale
            and self.zero_count == other.zero_count
            and self.count == other.count
            and _same_float(self.sum, other.sum)
            and _same_float(self.min, other.min)
            and _same_float(self.max, other.max)
            and _same_range(
                self.positive_offset,
                self.positive_counts,
                other.positive_offset,
                other.positive_counts,
            )
            and _same_range(
                self.negative_offset,
                self.negative_counts,
                other.negative_offset,
                other.negative_counts,
            )
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def mean(self) -> float:
        """Arithmetic mean of the recorded values (NaN when empty)."""
        return self.sum / self.count if self.count else float("nan")

    def bucket_counts(
        self,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """All non-empty buckets in value order as ``(lower, upper, count)`` arrays; zero is a point bucket."""
        neg_idx = self.negative_offset + np.arange(self.negative_counts.size)
        pos_idx = self.positive_offset + np.arange(self.positive_counts.size)
        neg_lo, neg_hi = bucket_bounds(neg_idx[::-1], self.scale)
        pos_lo, pos_hi = bucket_bounds(pos_idx, self.scale)
        lower = np.concatenate([-neg_hi, [0.0], pos_lo])
        upper = np.concatenate([-neg_lo, [0.0], pos_hi])
        counts = np.concatenate(
            [self.negative_counts[::-1], [self.zero_count], self.positive_counts]
        )
        keep = counts > 0
        return lower[keep], upper[keep], counts[keep].astype(np.int64)


def _same_float(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b))


def _same_range(off_a: int, a: npt.NDArray[np.int64], off_b: int, b: npt.NDArray[np.int64]) -> bool:
    """Equal bucket ranges, ignoring leading/trailing empty buckets."""
    oa, ta = _trim(off_a, a)
    ob, tb = _trim(off_b, b)
    return bool(ta.size == tb.size and (ta.size == 0 or (oa == ob and np.array_equal(ta, tb))))


def _trim(offset: int, counts: npt.NDArray[np.int64]) -> tuple[int, npt.NDArray[np.int64]]:
    """Drop leading and trailing empty buckets."""
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return 0, _EMPTY
    return offset + int(nz[0]), counts[nz[0] : nz[-1] + 1]


def empty(scale: int = MAX_SCALE) -> ExpHistogram:
    """A histogram with no values."""
    return ExpHistogram(scale, 0, 0, _EMPTY, 0, _EMPTY, 0, 0.0, float("nan"), float("nan"))


def bucket_index(magnitudes: npt.ArrayLike, scale: int) -> npt.NDArray[np.int64]:
    """Bucket index of each positive finite magnitude at ``scale`` (any array shape).

    Exact powers of two are placed exactly via ``frexp`` (they are bucket upper bounds); other
    values use ``log2``, whose rounding may move a value sitting on a boundary by one bucket,
    which the OTLP spec permits.
    """
    given = np.asarray(magnitudes, dtype=np.float64)
    v = given.reshape(-1)
    mantissa, exponent = np.frexp(v)
    exact_power = mantissa == 0.5
    if scale <= 0:
        base_index = np.where(exact_power, exponent - 2, exponent - 1).astype(np.int64)
        return (base_index >> -scale).reshape(given.shape)
    with np.errstate(divide="ignore"):
        scaled = np.log2(v)
    scaled *= float(1 << scale)  # in place: on a million values memory traffic is the cost
    np.ceil(scaled, out=scaled)
    index = scaled.astype(np.int64)
    index -= 1
    if exact_power.any():
        exact = ((exponent.astype(np.int64) - 1) << scale) - 1
        np.copyto(index, exact, where=exact_power)
    return index.reshape(given.shape)


_LOG2_BELOW_FLOATS = -1075
"""log2 of half the smallest positive subnormal float: every float's bucket lies above it."""
_LOG2_ABOVE_FLOATS = 1024
"""log2 of the first power of two past the largest float."""


def index_range(scale: int) -> tuple[int, int]:
    """Lowest and highest bucket index a positive finite float can have at ``scale``.

    A bucket outside this range holds no float (its bounds are beyond 2**1024 or below the
    smallest subnormal), so a wire histogram that uses one is malformed; clamping stored
    indexes into it bounds any merge at scale ``MIN_SCALE`` to four buckets.
    """
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale {scale} outside [{MIN_SCALE}, {MAX_SCALE}]")
    if scale >= 0:
        return (_LOG2_BELOW_FLOATS << scale) - 1, (_LOG2_ABOVE_FLOATS << scale) - 1
    return (_LOG2_BELOW_FLOATS >> -scale) - 1, (_LOG2_ABOVE_FLOATS >> -scale) - 1


def bucket_bounds(
    indexes: npt.ArrayLike, scale: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower (exclusive) and upper (inclusive) magnitude bounds of buckets at ``scale``."""
    idx = np.asarray(indexes, dtype=np.float64)
    step = 2.0**-scale
    with np.errstate(over="ignore"):  # the top bucket at coarse scales reaches past float max
        return np.exp2(idx * step), np.exp2((idx + 1) * step)


def _shift_to_fit(ranges: list[tuple[int, int]], max_buckets: int, max_shift: int) -> int:
    """Smallest right shift of bucket indexes that fits every (lo, hi) range into max_buckets."""
    shift = 0
    while shift < max_shift and any(
        (hi >> shift) - (lo >> shift) + 1 > max_buckets for lo, hi in ranges
    ):
        shift += 1
    return shift


def _counts(indexes: npt.NDArray[np.int64]) -> tuple[int, npt.NDArray[np.int64]]:
    if indexes.size == 0:
        return 0, _EMPTY
    offset = int(indexes.min())
    return offset, np.bincount(indexes - offset).astype(np.int64)


def from_values(
    values: npt.ArrayLike,
    *,
    max_buckets: int = DEFAULT_MAX_BUCKETS,
    max_scale: int = MAX_SCALE,
) -> ExpHistogram:
    """Aggregate values into one histogram at the finest scale that fits ``max_buckets``.

    Non-finite values (NaN, ±inf) are ignored: callers count them as missing or invalid.
    The scale is chosen from the extremes first, so every value is indexed once, at that scale.
    """
    if max_buckets < 4:  # at MIN_SCALE the whole float range still spans 3 buckets
        raise ValueError(f"max_buckets must be >= 4, got {max_buckets}")
    if not MIN_SCALE <= max_scale <= MAX_SCALE:
        raise ValueError(f"max_scale must be in [{MIN_SCALE}, {MAX_SCALE}], got {max_scale}")
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return empty(max_scale)
    low, high = float(v.min()), float(v.max())
    if not (math.isfinite(low) and math.isfinite(high)):  # NaN or ±inf somewhere
        v = v[np.isfinite(v)]
        if v.size == 0:
            return empty(max_scale)
        low, high = float(v.min()), float(v.max())
    zero_count = v.size - int(np.count_nonzero(v))
    smallest_pos, smallest_neg = _smallest_magnitudes(v)
    # (smallest, largest) magnitude of each sign; a missing sign borrows the other's smallest
    # magnitude, which only places the zeros (see _index_counts).
    floor = min(smallest_pos, smallest_neg)
    sides = [(smallest_pos, high) if high > 0 else (floor, floor)]
    sides.append((smallest_neg, -low) if low < 0 else (floor, floor))
    scale, pos_off, pos_counts, neg_off, neg_counts = max_scale, 0, _EMPTY, 0, _EMPTY
    if math.isfinite(floor):  # not only zeros
        scale = _finest_scale(sides, max_buckets, max_scale)
        pos_off, pos_counts, neg_off, neg_counts = _index_counts(
            v, scale, zero_count, floor, bucket_index(np.array(sides), scale), high > 0, low < 0
        )
    return ExpHistogram(
        scale=scale,
        zero_count=zero_count,
        positive_offset=pos_off,
        positive_counts=pos_counts,
        negative_offset=neg_off,
        negative_counts=neg_counts,
        count=int(v.size),
        sum=float(v.sum()),
        min=low,
        max=high,
    )


_INF_BITS = 0x7FF0000000000000
"""Bit pattern of +inf: every finite non-negative float's pattern is below it."""
_SIGN_BIT = 1 << 63


def _smallest_magnitudes(v: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Smallest positive value and smallest magnitude among negative values (inf when absent)
    of finite values, in two integer passes instead of boolean masks.

    Read as unsigned integers, float bit patterns order like the values for each sign: +0.0 is
    0, positives follow, and negatives are 2**63 plus their magnitude's pattern. Subtracting
    (with wrap-around) the pattern just above the zero of a sign maps that sign's non-zero values
    to the lowest integers and everything else, that zero included, above them.
    """
    bits = v.view(np.uint64)
    pos = (int((bits - np.uint64(1)).min()) + 1) % (1 << 64)
    neg = (int((bits - np.uint64(_SIGN_BIT + 1)).min()) + 1) % (1 << 64)
    as_float = np.array([pos, neg], dtype=np.uint64).view(np.float64)
    return (
        float(as_float[0]) if 0 < pos < _INF_BITS else math.inf,  # 0: wrapped around, none
        float(as_float[1]) if 0 < neg < _INF_BITS else math.inf,
    )


def _finest_scale(sides: list[tuple[float, float]], max_buckets: int, max_scale: int) -> int:
    """Finest scale ≤ max_scale at which each side's (smallest, largest) magnitudes span at most
    ``max_buckets`` buckets of ``bucket_index``."""
    extremes = bucket_index(np.array(sides), max_scale).tolist()
    scale = max_scale - _shift_to_fit(extremes, max_buckets, max_scale - MIN_SCALE)
    if max_scale > 0 and scale <= 0:
        # At positive scales an index is log2-based and indexes of finer scales shifted equal
        # it; at scale <= 0 it is read exactly from the exponent, which differs by one bucket
        # where log2 rounds across a boundary. Fit the exponent-based ranges themselves.
        extremes = bucket_index(np.array(sides), 0).tolist()
        scale = -_shift_to_fit(extremes, max_buckets, -MIN_SCALE)
    return scale


_BLOCK = 1 << 15
"""Values per block in from_values: the temporaries of a block stay in the CPU cache, which
makes a million values about 20 % cheaper than whole-array passes."""


def _index_counts(
    v: npt.NDArray[np.float64],
    scale: int,
    zero_count: int,
    floor: float,
    ranges: npt.NDArray[np.int64],
    has_pos: bool,
    has_neg: bool,
) -> tuple[int, npt.NDArray[np.int64], int, npt.NDArray[np.int64]]:
    """Positive and negative bucket ranges of finite ``v`` at ``scale`` as (offset, counts),
    given the smallest non-zero magnitude (``floor``) and each side's first and last bucket
    index (``ranges``, positive row first).

    One bincount over both signs: positive buckets are bins ``[0, n_pos)`` and negative buckets
    follow, so no boolean mask splits the values. Zeros are lifted to the smallest non-zero
    magnitude so that their logarithm is finite, clamped to bin 0 and taken out of it again.
    """
    (pos_base, pos_last), (neg_base, neg_last) = ranges.tolist()
    n_pos = pos_last - pos_base + 1  # one bin (for the zeros) when there are no positives
    n_neg = neg_last - neg_base + 1 if has_neg else 0
    to_negative = n_pos - neg_base + pos_base
    counts = np.zeros(n_pos + n_neg, dtype=np.int64)
    for start in range(0, v.size, _BLOCK):
        block = v[start : start + _BLOCK]
        magnitude = np.abs(block)
        if zero_count:
            np.maximum(magnitude, floor, out=magnitude)
        key = bucket_index(magnitude, scale)
        key -= pos_base
        if n_neg:
            key += (block < 0) * to_negative  # a ufunc where= mask is 8x slower here
        if zero_count:
            np.maximum(key, 0, out=key)  # zeros sit at or below the first positive bucket
        counts += np.bincount(key, minlength=counts.size)
    counts[0] -= zero_count
    return (
        pos_base if has_pos else 0,
        counts[:n_pos] if has_pos else _EMPTY,
        neg_base if has_neg else 0,
        counts[n_pos:] if has_neg else _EMPTY,
    )


def _downscale_range(
    offset: int, counts: npt.NDArray[np.int64], shift: int
) -> tuple[int, npt.NDArray[np.int64]]:
    offset, counts = _trim(offset, counts)
    if shift == 0 or counts.size == 0:
        return offset, counts
    idx = (offset + np.arange(counts.size, dtype=np.int64)) >> shift
    new_offset = int(idx[0])
    return new_offset, np.bincount(idx - new_offset, weights=counts).astype(np.int64)


def downscale(h: ExpHistogram, shift: int) -> ExpHistogram:
    """The same histogram at ``scale - shift`` (each step merges bucket pairs)."""
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift}")
    if h.scale - shift < MIN_SCALE:
        raise ValueError(f"cannot downscale below scale {MIN_SCALE}")
    pos_off, pos = _downscale_range(h.positive_offset, h.positive_counts, shift)
    neg_off, neg = _downscale_range(h.negative_offset, h.negative_counts, shift)
    return ExpHistogram(
        h.scale - shift, h.zero_count, pos_off, pos, neg_off, neg, h.count, h.sum, h.min, h.max
    )


def _add_ranges(
    a: tuple[int, npt.NDArray[np.int64]], b: tuple[int, npt.NDArray[np.int64]]
) -> tuple[int, npt.NDArray[np.int64]]:
    (oa, ca), (ob, cb) = a, b
    if ca.size == 0:
        return ob, cb
    if cb.size == 0:
        return oa, ca
    lo = min(oa, ob)
    out = np.zeros(max(oa + ca.size, ob + cb.size) - lo, dtype=np.int64)
    out[oa - lo : oa - lo + ca.size] += ca
    out[ob - lo : ob - lo + cb.size] += cb
    return lo, out


def _range_of(offset: int, counts: npt.NDArray[np.int64]) -> tuple[int, int] | None:
    offset, counts = _trim(offset, counts)
    return (offset, offset + counts.size - 1) if counts.size else None


def merge(
    a: ExpHistogram, b: ExpHistogram, *, max_buckets: int = DEFAULT_MAX_BUCKETS
) -> ExpHistogram:
    """Histogram of the union of both inputs' values, at the finest common scale that fits."""
    scale = min(a.scale, b.scale)
    pos_ranges = _side_ranges(a, b, scale, positive=True)
    neg_ranges = _side_ranges(a, b, scale, positive=False)
    shift = _shift_to_fit(
        [r for r in (pos_ranges, neg_ranges) if r is not None], max_buckets, scale - MIN_SCALE
    )
    da, db = downscale(a, a.scale - scale + shift), downscale(b, b.scale - scale + shift)
    pos_off, pos = _add_ranges(
        (da.positive_offset, da.positive_counts), (db.positive_offset, db.positive_counts)
    )
    neg_off, neg = _add_ranges(
        (da.negative_offset, da.negative_counts), (db.negative_offset, db.negative_counts)
    )
    return ExpHistogram(
        scale=scale - shift,
        zero_count=a.zero_count + b.zero_count,
        positive_offset=pos_off,
        positive_counts=pos,
        negative_offset=neg_off,
        negative_counts=neg,
        count=a.count + b.count,
        sum=a.sum + b.sum,
        min=float(np.fmin(a.min, b.min)),
        max=float(np.fmax(a.max, b.max)),
    )


def _side_ranges(
    a: ExpHistogram, b: ExpHistogram, scale: int, *, positive: bool
) -> tuple[int, int] | None:
    """Joint index range of one side (positive or negative) of both histograms at ``scale``."""
    found: list[tuple[int, int]] = []
    for h in (a, b):
        rng = (
            _range_of(h.positive_offset, h.positive_counts)
            if positive
            else _range_of(h.negative_offset, h.negative_counts)
        )
        if rng is not None:
            s = h.scale - scale
            found.append((rng[0] >> s, rng[1] >> s))
    if not found:
        return None
    return min(r[0] for r in found), max(r[1] for r in found)


def merge_all(
    histograms: Sequence[ExpHistogram], *, max_buckets: int = DEFAULT_MAX_BUCKETS
) -> ExpHistogram:
    """Merge any number of histograms (empty list → empty histogram).

    Equal to folding ``merge`` over the list (bit for bit), but vectorised by ``merge_arrays``:
    the Python work per histogram is reading its fields, so merging a fleet of 1,000 devices'
    histograms of one feature costs a few hundred microseconds.
    """
    if not histograms:
        return empty()
    return merge_arrays(
        [h.scale for h in histograms],
        [h.zero_count for h in histograms],
        [h.positive_offset for h in histograms],
        [h.positive_counts for h in histograms],
        [h.negative_offset for h in histograms],
        [h.negative_counts for h in histograms],
        [h.count for h in histograms],
        [h.sum for h in histograms],
        [h.min for h in histograms],
        [h.max for h in histograms],
        max_buckets=max_buckets,
    )


def merge_arrays(
    scales: npt.ArrayLike,
    zero_counts: npt.ArrayLike,
    positive_offsets: npt.ArrayLike,
    positive_counts: Sequence[npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    negative_offsets: npt.ArrayLike,
    negative_counts: Sequence[npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    counts: npt.ArrayLike,
    sums: npt.ArrayLike,
    mins: npt.ArrayLike,
    maxs: npt.ArrayLike,
    *,
    max_buckets: int = DEFAULT_MAX_BUCKETS,
    positive_lengths: npt.ArrayLike | None = None,
    negative_lengths: npt.ArrayLike | None = None,
    stored: bool = False,
) -> ExpHistogram:
    """Merge N histograms given as columns, one entry per histogram in ``ExpHistogram``'s field
    order, without building N ``ExpHistogram`` objects: for rows read from a store.

    ``positive_counts`` holds one integer array per histogram, or, when ``positive_lengths`` is
    given, every histogram's counts end to end in one flat array with each one's length (the
    values and lengths of an Arrow list column); the same for the negative side.

    The result equals folding ``merge`` over the rows in order: bucket counts bit for bit (summed
    in int64), ``sum`` by the same left-to-right float additions. Rows of one scale are summed
    at that scale with ``np.add.at`` in cache-sized chunks, then each scale's sum is downscaled
    once, so the Python work per histogram is a few list operations.

    ``stored=True`` is for rows a store wrote without checking them (older servers did): the
    counts, zero counts and per-bucket sums at the common scale are held at 2**63 - 1 instead
    of wrapping (each stored point is valid on its own; their total need not fit), and bucket
    indexes are clamped into ``index_range`` of the common scale before any dense array is
    built, so one device's rows cannot make a fleet-wide merge fail or allocate without bound.
    On rows whose totals fit in int64 and whose indexes are floats' it changes nothing.
    """
    scale_arr = _column(scales, np.int64, "scales")
    n = scale_arr.size
    columns = {
        "zero_counts": zero_counts,
        "positive_offsets": positive_offsets,
        "negative_offsets": negative_offsets,
        "counts": counts,
        "sums": sums,
        "mins": mins,
        "maxs": maxs,
    }
    for name, column in columns.items():
        if np.size(column) != n:
            raise ValueError(f"{name} has {np.size(column)} entries, scales has {n}")
    for name, arrays, flat_lengths in (
        ("positive_counts", positive_counts, positive_lengths),
        ("negative_counts", negative_counts, negative_lengths),
    ):
        if flat_lengths is None and len(arrays) != n:
            raise ValueError(f"{name} has {len(arrays)} entries, scales has {n}")
    if n == 0:
        return empty()
    # merge(empty(), h) starts the fold at MAX_SCALE, so the result is never finer than that.
    scale = min(MAX_SCALE, int(scale_arr.min()))
    side = _stored_side_at_scale if stored else _side_at_scale
    pos_idx, pos_w = side(scale_arr, scale, positive_offsets, positive_counts, positive_lengths)
    neg_idx, neg_w = side(scale_arr, scale, negative_offsets, negative_counts, negative_lengths)
    total_of = _saturated_sum if stored else _plain_sum
    # The fold adds sums one at a time from 0.0; accumulate is that same sequential loop.
    sum_arr = np.concatenate([[0.0], _column(sums, np.float64, "sums")])
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN sums propagate as in the fold
        total = float(np.add.accumulate(sum_arr)[-1])
    return from_bucket_sums(
        scale,
        total_of(_column(zero_counts, np.int64, "zero_counts")),
        (pos_idx, pos_w),
        (neg_idx, neg_w),
        count=total_of(_column(counts, np.int64, "counts")),
        sum=total,
        min=float(np.fmin.reduce(_column(mins, np.float64, "mins"))),  # NaN means "no values"
        max=float(np.fmax.reduce(_column(maxs, np.float64, "maxs"))),
        max_buckets=max_buckets,
    )


BucketSums = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""One side's non-empty buckets as (bucket index, count) arrays; an index may repeat."""


def from_bucket_sums(
    scale: int,
    zero_count: int,
    positive: BucketSums,
    negative: BucketSums,
    *,
    count: int,
    sum: float,
    min: float,
    max: float,
    max_buckets: int = DEFAULT_MAX_BUCKETS,
) -> ExpHistogram:
    """The last step of every merge: bucket counts already moved to a common ``scale``,
    summed per index and downscaled by the smallest shift that fits each side into
    ``max_buckets`` (not below ``MIN_SCALE``).

    ``merge_arrays`` ends here, and so does the server's query merge, whose bucket sums come
    from SQL; the rollups' SQL merge follows the same rule (tested equal to ``merge_all``).
    """
    spans = [(int(i.min()), int(i.max())) for i, _ in (positive, negative) if i.size]
    shift = _shift_to_fit(spans, max_buckets, scale - MIN_SCALE)
    pos_off, pos = _sum_at(positive[0] >> shift, positive[1])
    neg_off, neg = _sum_at(negative[0] >> shift, negative[1])
    return ExpHistogram(
        scale=scale - shift,
        zero_count=zero_count,
        positive_offset=pos_off,
        positive_counts=pos,
        negative_offset=neg_off,
        negative_counts=neg,
        count=count,
        sum=sum,
        min=min,
        max=max,
    )


def _column(values: npt.ArrayLike, dtype: type[np.generic], name: str) -> npt.NDArray[Any]:
    """One per-histogram column as a flat array of ``dtype``."""
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


_ROW_CHUNK = 256
"""Rows summed per np.add.at call: the chunk's temporaries (~250 KB) stay in cache and are
reused by malloc; whole-array temporaries of a 1,000-row merge are handed back to the OS and
page-faulted in again on every call, which made the merge 2.5x slower."""
_MAX_DENSE_CELLS = 1 << 16
"""A scale's rows are summed on a dense range up to this width (or up to their element count);
wider ranges (values far apart in log space) keep one (index, count) pair per bucket instead."""


def _side_at_scale(
    scales: npt.NDArray[np.int64],
    scale: int,
    offsets: npt.ArrayLike,
    arrays: Sequence[npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    flat_lengths: npt.ArrayLike | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One side (positive or negative) of all rows as (bucket index at ``scale``, count) pairs
    of the non-empty buckets; an index may repeat. ``arrays`` holds one array per row, or with
    ``flat_lengths`` all rows' counts end to end.

    Each scale's rows are summed at that scale on one dense row of a (scales x width) matrix,
    and only those sums are downscaled: shifting every element instead makes neighbouring
    elements hit the same cell, which costs np.add.at about three times as much.
    """
    first = np.asarray(offsets, dtype=np.int64)
    counts_of: Callable[[int, int], npt.NDArray[np.int64]]
    if flat_lengths is None:
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        counts_of = partial(_concat_rows, cast(Sequence[npt.ArrayLike], arrays))
    else:
        flat, lengths = _flat_counts(arrays, flat_lengths, scales.size)
        counts_of = partial(_slice_rows, flat, _row_bounds(lengths))
    used = lengths > 0
    if not used.any():
        return _EMPTY, _EMPTY
    levels, level_of = np.unique(scales, return_inverse=True)
    low = np.full(levels.size, np.iinfo(np.int64).max)
    high = np.full(levels.size, np.iinfo(np.int64).min)
    np.minimum.at(low, level_of[used], first[used])
    np.maximum.at(high, level_of[used], (first + lengths)[used])
    present = np.flatnonzero(high > low)
    width = int((high - low)[present].max())
    if levels.size * width > max(_MAX_DENSE_CELLS, int(lengths.sum())):
        # Values far apart in log space: one (index, count) pair per non-empty bucket.
        counts = counts_of(0, lengths.size)
        index = np.repeat(first - (np.cumsum(lengths) - lengths), lengths)
        index += np.arange(counts.size, dtype=np.int64)
        index >>= np.repeat(scales - scale, lengths)
        keep = counts != 0  # empty buckets do not widen the range, as merge trims them
        return index[keep], counts[keep]
    dense = np.zeros(levels.size * width, dtype=np.int64)
    # Element j of row r lands in cell level(r) * width + offsets[r] - low[level(r)] + j.
    cell_of_row = level_of * width + first - low[level_of]
    for start in range(0, lengths.size, _ROW_CHUNK):
        chunk_lengths = lengths[start : start + _ROW_CHUNK]
        counts = counts_of(start, start + _ROW_CHUNK)
        # The element's position in the chunk plus its row's cell minus the row's start.
        starts = np.cumsum(chunk_lengths) - chunk_lengths
        index = np.repeat(cell_of_row[start : start + _ROW_CHUNK] - starts, chunk_lengths)
        index += np.arange(counts.size, dtype=np.int64)
        np.add.at(dense, index, counts)
    sums = dense.reshape(levels.size, width)
    indexes, totals = [], []
    for level in present.tolist():
        nonzero = np.flatnonzero(sums[level])
        indexes.append((nonzero + low[level]) >> (int(levels[level]) - scale))
        totals.append(sums[level][nonzero])
    return np.concatenate(indexes), np.concatenate(totals)


_INT64_MAX = (1 << 63) - 1
_SAFE_TOTAL = float(1 << 62)
"""Below this float total (at most 2**-40 relative error over < 2**21 terms), an int64 sum
cannot overflow."""
_LOW_BITS = 31


def _plain_sum(values: npt.NDArray[np.int64]) -> int:
    return int(values.sum())


def _saturated_sum(values: npt.NDArray[np.int64]) -> int:
    """The exact sum of int64 values, held at 2**63 - 1."""
    if float(np.abs(values, dtype=np.float64).sum()) < _SAFE_TOTAL:
        return int(values.sum())
    return min(sum(values.tolist()), _INT64_MAX)


def _stored_side_at_scale(
    scales: npt.NDArray[np.int64],
    scale: int,
    offsets: npt.ArrayLike,
    arrays: Sequence[npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    flat_lengths: npt.ArrayLike | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``_side_at_scale`` for stored rows: each index's sum held at 2**63 - 1 and every index
    clamped into ``index_range(scale)``. Offsets stay within int32 in storage, so shifting
    them cannot overflow; only sums near the cap take the exact (slower) path, which sums
    the high and low bits of every count apart and adds them as Python integers."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if flat_lengths is None:
        flat = _concat_counts(cast(Sequence[npt.ArrayLike], arrays))
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
    else:
        flat, lengths = _flat_counts(arrays, flat_lengths, scales.size)
    lowest, highest = index_range(max(scale, MIN_SCALE))
    if float(np.abs(flat, dtype=np.float64).sum()) < _SAFE_TOTAL:
        index, weight = _side_at_scale(scales, scale, offsets, flat, lengths)
        return np.clip(index, lowest, highest), weight
    parts = [
        _side_at_scale(scales, scale, offsets, part, lengths)
        for part in (flat >> _LOW_BITS, flat & ((1 << _LOW_BITS) - 1))
    ]
    index = np.clip(np.concatenate([i for i, _ in parts]), lowest, highest)
    unique, where = np.unique(index, return_inverse=True)
    totals = np.zeros(unique.size, dtype=object)
    np.add.at(totals, where[: parts[0][0].size], parts[0][1].astype(object) << _LOW_BITS)
    np.add.at(totals, where[parts[0][0].size :], parts[1][1].astype(object))
    weight = np.array([min(int(t), _INT64_MAX) for t in totals], dtype=np.int64)
    return unique, weight


def _flat_counts(
    values: Sequence[npt.ArrayLike] | npt.NDArray[np.integer[Any]],
    lengths: npt.ArrayLike,
    rows: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Validated (counts end to end, length of each row) of a flat count column."""
    flat = np.asarray(values)
    row_lengths = np.asarray(lengths, dtype=np.int64)
    if flat.ndim != 1 or (flat.size and flat.dtype.kind not in "iu"):
        raise ValueError(f"bucket counts must be 1-D integer arrays, got {flat.dtype} {flat.shape}")
    if row_lengths.shape != (rows,) or (row_lengths < 0).any():
        raise ValueError(f"lengths must hold {rows} non-negative row lengths")
    if int(row_lengths.sum()) != flat.size:
        raise ValueError(f"lengths add up to {int(row_lengths.sum())}, counts hold {flat.size}")
    return flat.astype(np.int64, copy=False), row_lengths


def _row_bounds(lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where each row starts in its flat array, and where the last one ends."""
    return np.concatenate([[0], np.cumsum(lengths)])


def _concat_rows(arrays: Sequence[npt.ArrayLike], start: int, stop: int) -> npt.NDArray[np.int64]:
    """Rows ``start..stop-1`` of one-array-per-row counts, end to end."""
    return _concat_counts(arrays[start:stop])


def _slice_rows(
    flat: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64], start: int, stop: int
) -> npt.NDArray[np.int64]:
    """Rows ``start..stop-1`` of a flat count column (a view, no copy)."""
    return flat[bounds[start] : bounds[min(stop, bounds.size - 1)]]


def _concat_counts(arrays: Sequence[npt.ArrayLike]) -> npt.NDArray[np.int64]:
    """Bucket-count arrays end to end as int64; non-integer counts are rejected, not truncated."""
    if not arrays:
        return _EMPTY
    try:
        flat: npt.NDArray[np.int64] = np.concatenate(arrays, dtype=np.int64, casting="same_kind")
        if flat.ndim == 1:
            return flat
    except (TypeError, ValueError):  # e.g. an empty list, read as float64: check row by row
        pass
    parts = [np.asarray(a) for a in arrays]
    for part in parts:
        if part.ndim != 1 or (part.size and part.dtype.kind not in "iu"):
            raise ValueError(
                f"bucket counts must be 1-D integer arrays, got {part.dtype} {part.shape}"
            )
    return np.concatenate(parts, dtype=np.int64, casting="unsafe")


def _sum_at(
    index: npt.NDArray[np.int64], weights: npt.NDArray[np.int64]
) -> tuple[int, npt.NDArray[np.int64]]:
    """Dense counts from (index, count) pairs, summed exactly in int64; a bucket whose sum
    would pass 2**63 - 1 (stored rows near the cap, merged into fewer buckets by the shift
    that fits them) is held there instead of wrapping."""
    if index.size == 0:
        return 0, _EMPTY
    offset = int(index.min())
    out = np.zeros(int(index.max()) - offset + 1, dtype=np.int64)
    if float(np.abs(weights, dtype=np.float64).sum()) < _SAFE_TOTAL:
        np.add.at(out, index - offset, weights)
        return offset, out
    totals = np.zeros(out.size, dtype=object)
    np.add.at(totals, index - offset, weights.astype(object))
    out[:] = [max(min(int(t), _INT64_MAX), -_INT64_MAX - 1) for t in totals]
    return offset, out


def quantile(h: ExpHistogram, q: float) -> float:
    """Estimated ``q``-quantile (0 ≤ q ≤ 1), interpolated within buckets and clamped to [min, max].

    ``min`` and ``max`` are optional in OTLP (NaN here): without them the estimate comes from
    the bucket bounds alone, and q = 0 or 1 is the outer bound of the first or last bucket.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    if h.count == 0:
        return float("nan")
    if q == 0.0 and not math.isnan(h.min):
        return h.min
    if q == 1.0 and not math.isnan(h.max):
        return h.max
    lower, upper, counts = h.bucket_counts()
    cumulative = np.cumsum(counts)
    target = q * h.count
    i = int(np.searchsorted(cumulative, target, side="left"))
    i = min(i, counts.size - 1)
    before = cumulative[i] - counts[i]
    fraction = (target - before) / counts[i]
    estimate = lower[i] + (upper[i] - lower[i]) * fraction
    # fmax/fmin skip a NaN bound, so a missing min or max leaves the estimate unclamped there.
    return float(np.fmin(np.fmax(estimate, h.min), h.max))


def validate(h: ExpHistogram) -> None:
    """Raise ``ValueError`` naming the inconsistency when a histogram (e.g. from the wire) is malformed."""
    if not MIN_SCALE <= h.scale <= MAX_SCALE:
        raise ValueError(f"scale {h.scale} outside [{MIN_SCALE}, {MAX_SCALE}]")
    for name, arr in (("positive", h.positive_counts), ("negative", h.negative_counts)):
        if arr.size and int(arr.min()) < 0:
            raise ValueError(f"{name} bucket counts must be non-negative")
    if h.zero_count < 0 or h.count < 0:
        raise ValueError("counts must be non-negative")
    total = h.zero_count + int(h.positive_counts.sum()) + int(h.negative_counts.sum())
    if total != h.count:
        raise ValueError(f"count {h.count} does not equal the sum of bucket counts {total}")
    if not np.isfinite(h.sum) and h.count:
        raise ValueError("sum must be finite")
    if h.count and not (np.isnan(h.min) or np.isnan(h.max)) and h.min > h.max:
        raise ValueError(f"min {h.min} is greater than max {h.max}")
    lowest, highest = index_range(h.scale)
    for name, offset, size in (
        ("positive", h.positive_offset, h.positive_counts.size),
        ("negative", h.negative_offset, h.negative_counts.size),
    ):
        if size and (offset < lowest or offset + size - 1 > highest):
            raise ValueError(
                f"{name} buckets {offset}..{offset + size - 1} lie beyond the range of a float"
                f" at scale {h.scale} ({lowest}..{highest})"
            )


def to_dict(h: ExpHistogram) -> dict[str, Any]:
    """JSON-friendly form (used by the REST API and tests)."""
    return {
        "scale": h.scale,
        "zero_count": h.zero_count,
        "positive": {"offset": h.positive_offset, "bucket_counts": h.positive_counts.tolist()},
        "negative": {"offset": h.negative_offset, "bucket_counts": h.negative_counts.tolist()},
        "count": h.count,
        "sum": h.sum,
        "min": None if np.isnan(h.min) else h.min,
        "max": None if np.isnan(h.max) else h.max,
    }
