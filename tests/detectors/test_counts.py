"""Rare events as counts (issue #14 finding 6): the exact conditional Poisson test against
scipy's binomial test, and the failing shape — an error-free warm-up, then one error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from edgewatch.detectors import PageHinkley, Verdict, count_increase


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(0, 200),
    k_ref=st.integers(0, 2000),
    n=st.floats(1, 1e5),
    n_ref=st.floats(1, 1e6),
)
def test_p_value_is_scipys_one_sided_binomial_test(
    k: int, k_ref: int, n: float, n_ref: float
) -> None:
    result = count_increase(k, n, k_ref, n_ref)
    if k + k_ref == 0:
        assert result.p_value == 1.0
        return
    oracle = stats.binomtest(k, k + k_ref, n / (n + n_ref), alternative="greater").pvalue
    assert result.p_value == pytest.approx(oracle, rel=1e-9, abs=1e-300)
    assert result.score == pytest.approx((k / n) / (max(k_ref, 0.5) / n_ref))


@given(k=st.integers(0, 50), k_ref=st.integers(0, 500), scale=st.floats(0.5, 20))
def test_more_events_never_lower_the_score_or_raise_the_p_value(
    k: int, k_ref: int, scale: float
) -> None:
    a = count_increase(k, 100 * scale, k_ref, 10_000.0)
    b = count_increase(k + 1, 100 * scale, k_ref, 10_000.0)
    assert b.score > a.score and b.p_value is not None and a.p_value is not None
    assert b.p_value <= a.p_value + 1e-12


def test_one_error_after_an_error_free_day_is_not_a_page() -> None:
    # A day of 1,440 error-free minutes at 100 inferences/minute, then one error in 15 minutes.
    result = count_increase(1, 1500.0, 0, 144_000.0)
    assert result.verdict is Verdict.NO_DRIFT and math.isfinite(result.score)
    # The streaming detector this replaces scores the same shape as millions of warm-up stds.
    ph = PageHinkley(warmup=20)
    for x in [0.0] * 22 + [1 / 100]:
        ph.update(x)
    assert ph.drift_detected and ph.result().score > 1e6


def test_a_real_rise_is_detected_with_a_clean_reference() -> None:
    # 0 errors for a day, then 3 % of 1,500 inferences fail: 45 errors.
    assert count_increase(45, 1500.0, 0, 144_000.0).verdict is Verdict.DRIFT
    # 0.5 % usual rate, 5 % now.
    assert count_increase(75, 1500.0, 720, 144_000.0).verdict is Verdict.DRIFT


def test_guards_minimum_count_and_ratio() -> None:
    assert count_increase(4, 100.0, 0, 1e6, min_count=5).verdict is Verdict.NO_DRIFT
    # Significant with a huge reference but only 1.5x the usual rate: not a page.
    assert count_increase(1500, 1e5, 10_000, 1e6, min_ratio=2.0).verdict is Verdict.NO_DRIFT
    assert count_increase(0, 0.0, 5, 100.0).verdict is Verdict.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1}, "count must be a non-negative int"),
        ({"exposure": math.nan}, "exposure must be finite"),
        ({"alpha": 1.0}, "alpha must be in (0, 1)"),
        ({"min_count": 0}, "min_count must be an int >= 1"),
        ({"min_ratio": 0.5}, "min_ratio must be finite and >= 1"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {
        "count": 1,
        "exposure": 10.0,
        "reference_count": 1,
        "reference_exposure": 10.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        count_increase(**args)  # type: ignore[arg-type]
