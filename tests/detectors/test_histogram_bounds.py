"""Bucket indexes a float can have, and quantiles and grid statistics of histograms without
the optional min/max."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detectors import (
    MAX_SCALE,
    MIN_SCALE,
    ExpHistogram,
    bucket_index,
    cdf,
    drift,
    from_values,
    histogram_std,
    index_range,
    quantile,
    shared_grid,
)

_EXTREMES = np.array([5e-324, 2.2250738585072014e-308, 1.0, 2.0**1023, 1.7976931348623157e308])


@pytest.mark.parametrize("scale", range(MIN_SCALE, MAX_SCALE + 1))
def test_every_float_has_its_bucket_inside_index_range(scale: int) -> None:
    lowest, highest = index_range(scale)
    index = bucket_index(_EXTREMES, scale)
    assert lowest <= int(index.min()) and int(index.max()) <= highest
    assert highest - lowest + 1 <= max(4, 2110 << max(scale, 0))


def test_index_range_refuses_scales_outside_the_spec() -> None:
    with pytest.raises(ValueError, match="scale 21 outside"):
        index_range(21)


def _without_min_max(h: ExpHistogram) -> ExpHistogram:
    return ExpHistogram(
        h.scale,
        h.zero_count,
        h.positive_offset,
        h.positive_counts,
        h.negative_offset,
        h.negative_counts,
        h.count,
        h.sum,
        float("nan"),
        float("nan"),
    )


@given(
    st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda v: abs(v) > 1e-6),
        min_size=1,
        max_size=200,
    ),
    st.sampled_from([0.0, 0.01, 0.5, 0.95, 0.99, 1.0]),
)
def test_quantiles_without_min_max_come_from_the_buckets(values: list[float], q: float) -> None:
    h = from_values(values)
    bare = quantile(_without_min_max(h), q)
    assert math.isfinite(bare)
    lower, upper, _ = h.bucket_counts()
    assert float(lower.min()) <= bare <= float(upper.max())
    # min and max only refine the estimate: it moves at most to the edge of its bucket.
    assert quantile(h, q) == pytest.approx(np.clip(bare, h.min, h.max), rel=1e-9, abs=1e-12)


def test_grid_statistics_without_min_max_stay_finite() -> None:
    rng = np.random.default_rng(3)
    a = from_values(rng.normal(5.0, 1.0, 500))
    b = from_values(rng.normal(5.5, 1.0, 500))
    bare_a, bare_b = _without_min_max(a), _without_min_max(b)
    grid = shared_grid(bare_a, bare_b)
    assert np.isfinite(grid.edges).all()
    assert histogram_std(bare_a) == pytest.approx(1.0, rel=0.1)
    assert 0.0 < cdf(bare_a, 5.0) < 1.0
    assert drift(bare_a, bare_b, method="ks").statistic == pytest.approx(
        drift(a, b, method="ks").statistic, abs=0.02
    )
