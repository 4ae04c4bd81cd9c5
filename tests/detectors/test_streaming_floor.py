"""The streaming detectors' standard-deviation floor (min_std, resolution/√12, a minimum
relative spread), against numpy as the oracle; and the failing shape of issue #14: a warm-up
without a single error, then one error, must not score 10⁸ σ."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detectors import Cusum, EwmaChart, PageHinkley, std_floor

WARMUP = 20
_values = st.floats(-1e3, 1e3, allow_nan=False)
_warmups = st.one_of(
    st.lists(_values, min_size=WARMUP, max_size=WARMUP),
    _values.map(lambda x: [x] * WARMUP),  # a constant warm-up: zero variance
)
_floors = st.fixed_dictionaries(
    {
        "min_std": st.floats(1e-12, 1.0),
        "resolution": st.floats(0, 10),
        "min_relative_std": st.floats(0, 0.1),
    }
)


def _oracle_std(warmup: list[float], floors: dict[str, float]) -> float:
    values = np.asarray(warmup)
    floor = max(
        floors["min_std"],
        floors["resolution"] / np.sqrt(12.0),
        floors["min_relative_std"] * abs(float(values.mean())),
    )
    return max(float(values.std(ddof=1)), floor)


@given(_warmups, _floors)
def test_in_control_std_is_the_warmup_std_above_its_floor(
    warmup: list[float], floors: dict[str, float]
) -> None:
    for cls in (PageHinkley, Cusum, EwmaChart):
        d = cls(warmup=WARMUP, **floors)
        for x in warmup:
            d.update(x)
        # Welford's zero for a constant warm-up is numpy's rounding noise (~1e-11).
        tol = 1e-9 * (1 + max(abs(x) for x in warmup))
        assert d.in_control_std == pytest.approx(_oracle_std(warmup, floors), rel=1e-9, abs=tol)


@given(_warmups, _floors, _values)
def test_one_value_after_warmup_scores_in_floored_std(
    warmup: list[float], floors: dict[str, float], x: float
) -> None:
    std = _oracle_std(warmup, floors)
    z = (x - float(np.mean(warmup))) / std
    cusum, ewma = Cusum(warmup=WARMUP, **floors), EwmaChart(warmup=WARMUP, **floors)
    for d in (cusum, ewma):
        for v in [*warmup, x]:
            d.update(v)
    # Two ways of summing the warm-up's mean differ by rounding: ~1e-15 of its magnitude,
    # which a std floored near 1e-12 turns into a visible z.
    rounding = 1e-14 * max(abs(v) for v in [*warmup, x]) / std
    tol = 1e-6 * (1 + abs(z)) + rounding
    assert cusum.result().score == pytest.approx(max(0.0, abs(z) - cusum.slack), abs=tol)
    assert ewma.result().score == pytest.approx(ewma.smoothing * abs(z), abs=tol)


def test_floor_example_and_validation() -> None:
    floor = std_floor(0.0, min_std=1e-9, resolution=1.0, min_relative_std=1e-3)
    assert floor == pytest.approx(1 / math.sqrt(12))
    assert std_floor(500.0, min_std=1e-9, resolution=0.0, min_relative_std=1e-3) == 0.5
    with pytest.raises(ValueError, match="resolution"):
        PageHinkley(resolution=-1.0)
    with pytest.raises(ValueError, match="min_relative_std"):
        Cusum(min_relative_std=math.inf)


@pytest.mark.parametrize("cls", [PageHinkley, Cusum, EwmaChart])
def test_one_error_after_an_error_free_warmup_is_no_change(cls: type) -> None:
    # Errors per minute: none for 200 minutes, then one. Without a floor from the counts'
    # resolution the warm-up std is 0 and this one error scored ~1e8.
    d = cls(resolution=1.0)
    for _ in range(200):
        d.update(0.0)
    d.update(1.0)
    assert not d.drift_detected
    assert d.result().score < d.result().threshold
    assert "(its floor)" in d.result().explanation
    # A burst of errors is still a change.
    hits = 0
    for _ in range(10):
        d.update(4.0)
        hits += d.drift_detected
    assert hits >= 1


def test_without_a_resolution_one_error_is_an_outlier() -> None:
    """What a user rule saw before: a floor of 1e-9 only (the relative floor is 0 at mean 0)."""
    d = Cusum()
    for _ in range(200):
        d.update(0.0)
    d.update(1.0)
    assert d.drift_detected and d.result().score > 1e8
