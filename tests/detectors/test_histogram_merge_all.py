"""The fast paths: merge_all and merge_arrays equal folding merge over the list bit for bit,
and from_values, which picks its scale before indexing, places every value as bucket_index does."""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgewatch.detectors import (
    MAX_SCALE,
    ExpHistogram,
    bucket_index,
    empty,
    from_values,
    merge,
    merge_all,
    merge_arrays,
)

finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)
parts = st.lists(
    st.tuples(arrays(np.float64, st.integers(0, 60), elements=finite), st.integers(4, 80)),
    max_size=12,
)


def _fold(histograms: list[ExpHistogram], max_buckets: int) -> ExpHistogram:
    return reduce(lambda a, b: merge(a, b, max_buckets=max_buckets), histograms, empty())


@settings(max_examples=80, deadline=None)
@given(parts, st.integers(4, 200))
def test_merge_all_equals_the_pairwise_fold(
    raw: list[tuple[np.ndarray, int]], max_buckets: int
) -> None:
    histograms = [from_values(values, max_buckets=b) for values, b in raw]
    fast, slow = merge_all(histograms, max_buckets=max_buckets), _fold(histograms, max_buckets)
    assert fast == slow
    assert fast.sum == slow.sum or (np.isnan(fast.sum) and np.isnan(slow.sum))


def test_a_fleet_of_similar_devices_merges_to_the_pooled_histogram() -> None:
    rng = np.random.default_rng(5)
    blocks = [rng.normal(0.3, 1.0, 2000) for _ in range(300)]
    merged = merge_all([from_values(b) for b in blocks])
    pooled = from_values(np.concatenate(blocks))
    assert merged.count == pooled.count == 600_000
    assert merged == _fold([from_values(b) for b in blocks], 160)
    assert abs(merged.scale - pooled.scale) <= 1


def test_values_far_apart_in_log_space_still_merge() -> None:
    histograms = [from_values([1e-300] * 3), from_values([1e300] * 2), from_values([-5.0])]
    assert merge_all(histograms) == _fold(histograms, 160)
    assert merge_all(histograms).count == 6


def test_from_values_in_blocks_places_every_value_like_one_pass() -> None:
    rng = np.random.default_rng(9)
    values = np.concatenate([rng.normal(0, 3, 150_000), np.zeros(7), [np.nan, np.inf]])
    h = from_values(values)
    shift = MAX_SCALE - h.scale
    for side, kept in (("positive", values[values > 0]), ("negative", -values[values < 0])):
        idx = bucket_index(kept[np.isfinite(kept)], MAX_SCALE) >> shift
        expected = np.bincount(idx - idx.min())
        offset = h.positive_offset if side == "positive" else h.negative_offset
        counts = h.positive_counts if side == "positive" else h.negative_counts
        assert offset == idx.min()
        np.testing.assert_array_equal(counts, expected)
    assert h.zero_count == 7 and h.count == 150_007


def _columns(histograms: list[ExpHistogram], form: str = "arrays") -> dict[str, Any]:
    """merge_arrays' keyword arguments; counts as numpy arrays, lists, or flat with lengths."""
    columns: dict[str, Any] = {
        "scales": [h.scale for h in histograms],
        "zero_counts": [h.zero_count for h in histograms],
        "positive_offsets": [h.positive_offset for h in histograms],
        "negative_offsets": [h.negative_offset for h in histograms],
        "counts": [h.count for h in histograms],
        "sums": [h.sum for h in histograms],
        "mins": [h.min for h in histograms],
        "maxs": [h.max for h in histograms],
    }
    for side in ("positive", "negative"):
        rows = [getattr(h, f"{side}_counts") for h in histograms]
        if form == "flat":
            columns[f"{side}_counts"] = np.concatenate([np.zeros(0, np.int64), *rows])
            columns[f"{side}_lengths"] = [r.size for r in rows]
        else:
            columns[f"{side}_counts"] = [r.tolist() for r in rows] if form == "lists" else rows
    return columns


@settings(max_examples=80, deadline=None)
@given(parts, st.integers(4, 200), st.sampled_from(["arrays", "lists", "flat"]), st.booleans())
def test_merge_arrays_on_columns_equals_the_fold(
    raw: list[tuple[np.ndarray, int]], max_buckets: int, form: str, stored: bool
) -> None:
    """Also with ``stored=True`` (saturating sums, clamped indexes), which changes nothing on
    histograms whose totals fit in int64 and whose buckets hold floats."""
    histograms = [from_values(values, max_buckets=b) for values, b in raw]
    merged = merge_arrays(**_columns(histograms, form), max_buckets=max_buckets, stored=stored)
    assert merged == _fold(histograms, max_buckets)
    fast = merge_all(histograms, max_buckets=max_buckets)
    np.testing.assert_array_equal(merged.positive_counts, fast.positive_counts)


@settings(max_examples=80, deadline=None)
@given(parts, st.integers(4, 200), st.integers(0, 3), st.integers(0, 3))
def test_empty_buckets_at_the_ends_of_a_row_do_not_change_the_merge(
    raw: list[tuple[np.ndarray, int]], max_buckets: int, before: int, after: int
) -> None:
    """Counts from the wire may carry empty buckets at either end; merge trims them."""
    histograms = [from_values(values, max_buckets=b) for values, b in raw]
    padded = [
        ExpHistogram(
            h.scale,
            h.zero_count,
            h.positive_offset - before,
            np.pad(h.positive_counts, (before, after)),
            h.negative_offset - after,
            np.pad(h.negative_counts, (after, before)),
            h.count,
            h.sum,
            h.min,
            h.max,
        )
        for h in histograms
    ]
    assert merge_all(padded, max_buckets=max_buckets) == _fold(histograms, max_buckets)


def test_a_fleet_spread_over_scales_and_far_apart_values_merges_like_the_fold() -> None:
    """Rows of several scales, one group too wide for a dense sum (the sparse path)."""
    rng = np.random.default_rng(3)
    histograms = [
        from_values(rng.lognormal(0, 0.5 + i % 3, 500), max_buckets=40 + i % 7) for i in range(60)
    ]
    histograms += [from_values([1e-200, 2e-200]), from_values([-3e150]), from_values([1.0, 1.5])]
    assert len({h.scale for h in histograms}) > 3
    for max_buckets in (4, 20, 160):
        expected = _fold(histograms, max_buckets)
        assert merge_all(histograms, max_buckets=max_buckets) == expected
        flat = _columns(histograms, "flat")
        assert merge_arrays(**flat, max_buckets=max_buckets) == expected


def test_merge_arrays_names_a_column_of_the_wrong_length_and_rejects_fractional_counts() -> None:
    histograms = [from_values([1.0, -2.0]), from_values([3.0])]
    columns = _columns(histograms)
    with pytest.raises(ValueError, match="sums has 1 entries, scales has 2"):
        merge_arrays(**{**columns, "sums": [0.0]})
    with pytest.raises(ValueError, match="negative_counts has 3 entries"):
        merge_arrays(**{**columns, "negative_counts": [*columns["negative_counts"], []]})
    with pytest.raises(ValueError, match="integer"):
        merge_arrays(**{**columns, "positive_counts": [[1.5], [1]]})
    flat = _columns(histograms, "flat")
    with pytest.raises(ValueError, match="lengths add up to 1, counts hold 2"):
        merge_arrays(**{**flat, "positive_lengths": [1, 0]})
    with pytest.raises(ValueError, match="lengths must hold 2"):
        merge_arrays(**{**flat, "negative_lengths": [1]})
    assert merge_arrays(**_columns([], "lists")) == empty()


special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0**-1074, 2.0**-1022, 3.0, 1e300, -1e-300])
mixed = arrays(np.float64, st.integers(1, 400), elements=finite | special)


@settings(max_examples=200, deadline=None)
@given(mixed, st.integers(4, 200), st.integers(-10, 20))
def test_from_values_places_every_value_at_the_finest_scale_that_fits(
    values: np.ndarray, max_buckets: int, max_scale: int
) -> None:
    """The scale is chosen from the extremes before indexing: it must still be the finest that
    fits, and every value must sit in bucket_index's bucket at that scale."""
    h = from_values(values, max_buckets=max_buckets, max_scale=max_scale)
    ranges = []
    for kept, offset, counts in (
        (values[values > 0], h.positive_offset, h.positive_counts),
        (-values[values < 0], h.negative_offset, h.negative_counts),
    ):
        if kept.size == 0:
            assert counts.size == 0
            continue
        index = bucket_index(kept, h.scale)
        assert offset == index.min()
        np.testing.assert_array_equal(counts, np.bincount(index - index.min()))
        ranges.append(kept)
    assert h.zero_count == np.count_nonzero(values == 0)
    if h.scale < max_scale:  # one step finer would not fit
        finer = h.scale + 1
        spans = [np.ptp(bucket_index(kept, finer)) + 1 for kept in ranges]
        assert max(spans) > max_buckets


def test_coarse_scales_fit_exponent_indexes_not_shifted_log2_ones() -> None:
    """Just above 2**1000, log2 rounds down onto the boundary (bucket 999 at scale 0) while
    the exponent says bucket 1000: with 4 buckets, scale 0 fits 1000..1003 exactly."""
    values = np.array([2.0**1000 * (1 + 2.0**-52), 2.0**1004])
    h = from_values(values, max_buckets=4)
    assert h.scale == 0
    assert h.positive_offset == 1000
    np.testing.assert_array_equal(h.positive_counts, [1, 0, 0, 1])


def test_stored_counts_near_the_cap_stay_capped_when_the_fit_merges_their_buckets() -> None:
    """One stored row near the int64 cap beside rows whose indexes lie far out of range: the
    shift that fits the clamped extents merges the near-cap buckets with others', and the
    merged bucket is held at 2**63 - 1 (it wrapped negative before), in any row order and
    whether the rows are merged at once or in two groups first (the store pre-merges)."""
    cap = 2**63 - 1
    rng = np.random.default_rng(4)
    small = [from_values(rng.normal(0, 3, 40), max_buckets=40) for _ in range(12)]
    huge = ExpHistogram(0, 0, 3, np.array([cap // 2, cap // 2], np.int64), 0,
                        np.array([], np.int64), cap - 1, 1.0, 8.0, 10.0)  # fmt: skip
    far = [
        ExpHistogram(
            small[0].scale,
            0,
            offset,
            small[0].positive_counts,
            0,
            np.array([], np.int64),
            small[0].count,
            1.0,
            1.0,
            2.0,
        )
        for offset in (2_147_483_000, -2_147_483_000)
    ]
    rows = [huge, *far, *small]
    at_once = merge_arrays(**_columns(rows), stored=True)
    in_two = merge_arrays(
        **_columns(
            [
                merge_arrays(**_columns(rows[:5]), stored=True),
                merge_arrays(**_columns(rows[5:]), stored=True),
            ]
        ),
        stored=True,
    )
    for merged in (at_once, merge_arrays(**_columns(rows[::-1]), stored=True), in_two):
        assert merged.positive_counts.min() >= 0
        assert merged.positive_counts.max() == cap
        assert merged.count == cap
    assert at_once.positive_counts.tolist() == in_two.positive_counts.tolist()
