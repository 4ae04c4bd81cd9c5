"""The fast paths: merge_all equals folding merge over the list bit for bit, and from_values
in cache-sized blocks places every value as a single pass would."""

from __future__ import annotations

from functools import reduce

import numpy as np
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
