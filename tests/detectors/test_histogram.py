"""The exponential histogram against numpy on generated data: counts, sums, extremes, bucket
placement of every value, and merge equals aggregating the concatenation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgewatch.detectors import (
    MIN_SCALE,
    ExpHistogram,
    bucket_bounds,
    bucket_index,
    downscale,
    empty,
    from_values,
    merge,
    merge_all,
    quantile,
    validate,
)

# Up to ±1e300 so that sums of a few hundred values stay finite.
finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)
value_arrays = arrays(
    np.float64, st.integers(0, 300), elements=finite | st.just(0.0) | st.just(float("nan"))
)
max_buckets = st.integers(4, 200)


def _bucket_of(h: ExpHistogram, v: float) -> tuple[str, int]:
    if v == 0:
        return ("zero", 0)
    side = "positive" if v > 0 else "negative"
    return (side, int(bucket_index(abs(v), h.scale)))


@settings(max_examples=200, deadline=None)
@given(value_arrays, max_buckets)
def test_from_values_matches_numpy(values: np.ndarray, max_b: int) -> None:
    h = from_values(values, max_buckets=max_b)
    kept = values[np.isfinite(values)]
    validate(h)
    assert h.count == kept.size
    assert h.zero_count == int(np.sum(kept == 0))
    assert h.positive_counts.size <= max_b and h.negative_counts.size <= max_b
    assert h.scale >= MIN_SCALE
    if kept.size:
        assert h.min == kept.min() and h.max == kept.max()
        assert h.sum == pytest.approx(float(np.sum(kept)), rel=1e-9, abs=1e-300) or not np.isfinite(
            np.sum(kept)
        )
    for v in kept[:50]:
        side, idx = _bucket_of(h, float(v))
        if side == "zero":
            continue
        counts = h.positive_counts if side == "positive" else h.negative_counts
        offset = h.positive_offset if side == "positive" else h.negative_offset
        assert 0 <= idx - offset < counts.size
        assert counts[idx - offset] > 0


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e300), st.integers(-10, 20))
def test_bucket_index_places_value_inside_its_bounds(v: float, scale: int) -> None:
    idx = bucket_index(v, scale)
    lower, upper = bucket_bounds(idx, scale)
    # log2 rounding may place a value on a boundary one bucket off, as the OTLP spec permits
    assert lower * (1 - 1e-12) <= v <= upper * (1 + 1e-12)


@pytest.mark.parametrize("power", [-1074, -20, -1, 0, 1, 3, 50, 1023])
@pytest.mark.parametrize("scale", [-10, -3, 0, 1, 5, 20])
def test_exact_powers_of_two_are_upper_bounds(power: int, scale: int) -> None:
    v = 2.0**power
    idx = int(bucket_index(v, scale))
    if scale >= 0:
        assert idx == (power << scale) - 1
    else:
        assert idx == (power - 1) >> -scale


@settings(max_examples=150, deadline=None)
@given(value_arrays, value_arrays, max_buckets)
def test_merge_equals_aggregating_the_concatenation(
    a: np.ndarray, b: np.ndarray, max_b: int
) -> None:
    merged = merge(
        from_values(a, max_buckets=max_b), from_values(b, max_buckets=max_b), max_buckets=max_b
    )
    whole = from_values(np.concatenate([a, b]), max_buckets=max_b)
    assert merged.scale == whole.scale
    assert merged.count == whole.count and merged.zero_count == whole.zero_count
    assert merged == ExpHistogram(
        whole.scale,
        whole.zero_count,
        whole.positive_offset,
        whole.positive_counts,
        whole.negative_offset,
        whole.negative_counts,
        whole.count,
        merged.sum,
        whole.min,
        whole.max,
    )


@settings(max_examples=100, deadline=None)
@given(value_arrays, value_arrays, value_arrays)
def test_merge_is_associative_and_commutative(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    ha, hb, hc = from_values(a), from_values(b), from_values(c)
    left = merge(merge(ha, hb), hc)
    right = merge(ha, merge(hc, hb))
    assert left.scale == right.scale
    assert np.array_equal(left.bucket_counts()[2], right.bucket_counts()[2])


@settings(max_examples=100, deadline=None)
@given(value_arrays, st.integers(0, 8))
def test_downscale_keeps_every_count(values: np.ndarray, shift: int) -> None:
    h = from_values(values)
    if h.scale - shift < MIN_SCALE:
        with pytest.raises(ValueError, match="below scale"):
            downscale(h, shift)
        return
    d = downscale(h, shift)
    validate(d)
    assert d.count == h.count and d.scale == h.scale - shift


def test_huge_range_and_negatives() -> None:
    values = np.array([-1e300, -5.0, -1e-300, 0.0, 0.0, 1e-300, 3.0, 1e300])
    h = from_values(values, max_buckets=20)
    assert h.count == 8 and h.zero_count == 2
    assert int(h.negative_counts.sum()) == 3 and int(h.positive_counts.sum()) == 3
    assert h.scale < 0


def test_quantile_is_close_to_numpy_for_lognormal_latencies() -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(mean=-4.0, sigma=0.5, size=50_000)
    h = from_values(latencies)
    for q in (0.5, 0.95, 0.99):
        assert quantile(h, q) == pytest.approx(np.quantile(latencies, q), rel=0.05)
    assert quantile(h, 0.0) == latencies.min() and quantile(h, 1.0) == latencies.max()


def test_quantile_rejects_bad_q_and_empty_is_nan() -> None:
    with pytest.raises(ValueError, match="q must be"):
        quantile(from_values([1.0]), 1.5)
    assert np.isnan(quantile(empty(), 0.5))


def test_merge_all_and_pickle_round_trip() -> None:
    parts = [from_values(np.arange(i, i + 10, dtype=float)) for i in range(5)]
    h = merge_all(parts)
    assert h.count == 50
    assert pickle.loads(pickle.dumps(h)) == h


def test_validate_names_the_inconsistency() -> None:
    h = from_values([1.0, 2.0, 3.0])
    bad = ExpHistogram(
        h.scale, 0, h.positive_offset, h.positive_counts, 0, h.negative_counts, 99, 6.0, 1.0, 3.0
    )
    with pytest.raises(ValueError, match="does not equal the sum of bucket counts"):
        validate(bad)
    with pytest.raises(ValueError, match="max_buckets"):
        from_values([1.0], max_buckets=1)
