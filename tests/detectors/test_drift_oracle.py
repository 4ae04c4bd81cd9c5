"""Drift statistics on histograms against scipy on the raw values (the oracle), within the
binning bounds each result states; plus the invariants the statistics must keep."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial import distance

from edgewatch.detectors import (
    ChiSquare,
    Hellinger,
    JensenShannon,
    KolmogorovSmirnov,
    Psi,
    Wasserstein,
    categorical_counts,
    drift,
    from_values,
    merge,
)

EXAMPLES = 60
values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_subnormal=False)
samples = arrays(np.float64, st.integers(30, 200), elements=values)
bucket_limits = st.sampled_from([20, 160, 400])
letters = st.lists(st.sampled_from("abcdefg"), min_size=30, max_size=300)


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples, samples, bucket_limits)
def test_ks_statistic_is_within_the_stated_binning_bound(
    a: np.ndarray, b: np.ndarray, max_buckets: int
) -> None:
    result = KolmogorovSmirnov().compare(
        from_values(a, max_buckets=max_buckets), from_values(b, max_buckets=max_buckets)
    )
    exact = stats.ks_2samp(a, b, method="asymp").statistic
    d = result.statistic
    assert d is not None and result.binning_error is not None
    assert d <= exact + 1e-12  # the value at bucket edges is a lower bound
    assert exact <= d + result.binning_error + 1e-12


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples, samples, bucket_limits)
def test_wasserstein_is_within_the_stated_binning_bound(
    a: np.ndarray, b: np.ndarray, max_buckets: int
) -> None:
    result = Wasserstein(normed=False).compare(
        from_values(a, max_buckets=max_buckets), from_values(b, max_buckets=max_buckets)
    )
    exact = stats.wasserstein_distance(a, b)
    assert result.binning_error is not None
    scale = max(np.abs(a).max(), np.abs(b).max(), 1.0)
    assert abs(result.score - exact) <= result.binning_error + 1e-9 * scale


@settings(max_examples=EXAMPLES, deadline=None)
@given(letters, letters)
def test_chi_square_equals_scipy_chisquare(ref: list[str], cur: list[str]) -> None:
    result = ChiSquare().compare(categorical_counts(ref), categorical_counts(cur))
    keys = sorted(set(ref) | set(cur))
    ref_n, cur_n = Counter(ref), Counter(cur)
    if any(ref_n[k] == 0 for k in keys):
        assert result.p_value == 0.0  # a brand-new category cannot come from the reference
        return
    f_exp = np.array([ref_n[k] for k in keys]) * len(cur) / len(ref)
    f_obs = np.array([cur_n[k] for k in keys])
    if len(keys) == 1:
        assert result.p_value == 1.0
        return
    expected = stats.chisquare(f_obs, f_exp)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@settings(max_examples=EXAMPLES, deadline=None)
@given(letters, letters)
def test_jensen_shannon_equals_scipy_on_categories(ref: list[str], cur: list[str]) -> None:
    result = JensenShannon().compare(categorical_counts(ref), categorical_counts(cur))
    keys = sorted(set(ref) | set(cur))
    p = np.array([ref.count(k) for k in keys], dtype=float)
    q = np.array([cur.count(k) for k in keys], dtype=float)
    assert result.score == pytest.approx(distance.jensenshannon(p, q), abs=1e-9)


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples)
def test_identical_samples_show_no_drift(a: np.ndarray) -> None:
    h = from_values(a)
    assert Psi().compare(h, h).score == pytest.approx(0.0, abs=1e-12)
    for method in ("jensenshannon", "hellinger", "wasserstein"):
        assert drift(h, h, method).score == pytest.approx(0.0, abs=1e-7)
    assert drift(h, h, "ks").p_value == pytest.approx(1.0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples, samples)
def test_symmetric_statistics_are_symmetric(a: np.ndarray, b: np.ndarray) -> None:
    # (PSI, JS and Hellinger on numeric histograms bin by reference quantiles, so swapping
    # the sides changes the bins: symmetric only on categories, tested below.)
    ha, hb = from_values(a), from_values(b)
    for method in (KolmogorovSmirnov(), Wasserstein(normed=False)):
        assert method.compare(ha, hb).score == pytest.approx(
            method.compare(hb, ha).score, rel=1e-9, abs=1e-12
        )


@settings(max_examples=EXAMPLES, deadline=None)
@given(letters, letters)
def test_category_distances_are_symmetric(ref: list[str], cur: list[str]) -> None:
    a, b = categorical_counts(ref), categorical_counts(cur)
    for method in (JensenShannon(), Hellinger(), Psi()):
        assert method.compare(a, b).score == pytest.approx(method.compare(b, a).score, rel=1e-9)


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples, samples, st.randoms(use_true_random=False))
def test_order_of_values_does_not_matter(a: np.ndarray, b: np.ndarray, rnd: object) -> None:
    shuffled = a.copy()
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    for method in ("psi", "jensenshannon", "hellinger", "wasserstein", "ks"):
        first = drift(from_values(a), from_values(b), method)
        second = drift(from_values(shuffled), from_values(b), method)
        assert first.score == pytest.approx(second.score, rel=1e-9, abs=1e-12)


@settings(max_examples=EXAMPLES, deadline=None)
@given(samples, samples, samples, samples)
def test_merge_order_does_not_change_the_verdict(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, ref: np.ndarray
) -> None:
    ha, hb, hc, hr = (from_values(x) for x in (a, b, c, ref))
    left, right = merge(merge(ha, hb), hc), merge(ha, merge(hb, hc))
    for method in ("wasserstein", "ks", "psi"):
        one, two = drift(hr, left, method), drift(hr, right, method)
        assert one.score == pytest.approx(two.score, rel=1e-9, abs=1e-12)
        assert one.verdict is two.verdict
