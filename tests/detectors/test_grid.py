"""Shared grids, CDF and standard deviation from histograms, and categorical counts."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgewatch.detectors import (
    OTHER,
    CategoricalCounts,
    categorical_counts,
    cdf,
    coarsen,
    from_values,
    histogram_std,
    merge_counts,
    shared_grid,
)

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)
samples = arrays(np.float64, st.integers(1, 200), elements=values)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.sampled_from([8, 40, 160]))
def test_shared_grid_keeps_every_count_on_ordered_cells(
    a: np.ndarray, b: np.ndarray, max_buckets: int
) -> None:
    grid = shared_grid(from_values(a, max_buckets=max_buckets), from_values(b, max_buckets=20))
    assert grid.reference.sum() == a.size and grid.current.sum() == b.size
    assert grid.edges.size == grid.reference.size + 1 == grid.current.size + 1
    assert np.all(np.diff(grid.edges) >= 0)
    assert grid.edges[0] == min(a.min(), b.min()) and grid.edges[-1] == max(a.max(), b.max())
    coarse = coarsen(grid, 5)
    assert coarse.reference.sum() == a.size and coarse.current.sum() == b.size
    assert coarse.reference.size <= 5


def test_coarsen_makes_reference_quantile_bins() -> None:
    x = np.random.default_rng(1).lognormal(0, 1, 10_000)
    grid = coarsen(shared_grid(from_values(x), from_values(x)), 10)
    shares = grid.reference / grid.reference.sum()
    assert grid.reference.size == 10
    assert np.all(np.abs(shares - 0.1) < 0.05)
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        coarsen(grid, 1)


@pytest.mark.parametrize(
    "x",
    [
        np.random.default_rng(2).normal(0, 1, 5000),
        np.random.default_rng(3).lognormal(0, 1, 5000),
        np.random.default_rng(4).normal(1000, 5, 5000),
    ],
    ids=["normal", "lognormal", "offset"],
)
def test_cdf_and_std_track_the_raw_values(x: np.ndarray) -> None:
    h = from_values(x)
    assert histogram_std(h) == pytest.approx(np.std(x), rel=0.01)
    for q in (0.05, 0.5, 0.95):
        point = float(np.quantile(x, q))
        assert cdf(h, point) == pytest.approx(q, abs=0.03)
    assert cdf(h, float(x.min()) - 1) == 0.0 and cdf(h, float(x.max())) == 1.0


def test_empty_histogram_has_no_std_or_cdf() -> None:
    h = from_values([])
    assert np.isnan(histogram_std(h)) and np.isnan(cdf(h, 0.0))


def test_categorical_counts_fold_rare_categories_into_other() -> None:
    counts = categorical_counts(
        ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None], max_categories=2
    )
    assert dict(counts.counts) == {"a": 5, "b": 3, OTHER: 3}
    assert counts.count == 11
    assert counts.proportions(["a", "zzz"]) == [5 / 11, 0.0]


def test_categorical_merge_is_associative_and_pickles() -> None:
    a, b, c = categorical_counts("aab"), categorical_counts("bc"), categorical_counts("cd")
    assert merge_counts(merge_counts(a, b), c) == merge_counts(a, merge_counts(b, c))
    assert merge_counts(a, b, c) == categorical_counts("aabbccd")
    assert pickle.loads(pickle.dumps(a)) == a


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({1: 3}, "category names must be str"),
        ({"a": -1}, "non-negative int"),
        ({"a": 1.5}, "non-negative int"),
    ],
)
def test_categorical_counts_validate_their_input(counts: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        CategoricalCounts(counts)


def test_max_categories_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_categories must be >= 1, got 0"):
        categorical_counts("ab", max_categories=0)


def test_shared_grid_and_cdf_reject_unusable_input() -> None:
    with pytest.raises(ValueError, match="current histogram is empty"):
        shared_grid(from_values([1.0]), from_values([]))
    with pytest.raises(ValueError, match="reference must be an ExpHistogram"):
        shared_grid([1.0], from_values([1.0]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x must not be NaN"):
        cdf(from_values([1.0]), float("nan"))


def test_histograms_far_apart_in_log_space_share_a_bounded_grid() -> None:
    tiny, huge = from_values(np.full(40, 1e-300)), from_values(np.full(40, 1e4))
    grid = shared_grid(tiny, huge, max_cells=64)
    assert grid.reference.size <= 64 + 3
    assert grid.reference.sum() == grid.current.sum() == 40
    with pytest.raises(ValueError, match="max_cells must be an int >= 4"):
        shared_grid(tiny, huge, max_cells=2)
