"""False-discovery-rate control for many drift tests (issue #14 finding 1): Benjamini–
Hochberg against scipy's ``false_discovery_control``, and the effect-size floor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from edgewatch.detectors import (
    DriftResult,
    Verdict,
    benjamini_hochberg,
    bh_adjusted,
    categorical_counts,
    fdr_control,
    from_values,
    pool_rare,
    sampling_bias,
    screened_drift,
)
from edgewatch.detectors._drift import js_distance

P_VALUES = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(P_VALUES)
def test_adjusted_p_values_match_scipy(p: list[float]) -> None:
    oracle = stats.false_discovery_control(np.asarray(p), method="bh")
    np.testing.assert_allclose(bh_adjusted(p), oracle, rtol=1e-12, atol=1e-15)


@given(P_VALUES, st.floats(0.001, 0.5))
def test_rejections_are_the_step_up_rule(p: list[float], q: float) -> None:
    rejected = benjamini_hochberg(p, q)
    ranked = np.sort(np.asarray(p))
    m = len(p)
    below = np.nonzero(ranked <= q * np.arange(1, m + 1) / m * (1 + 1e-12))[0]
    cutoff = ranked[below[-1]] if below.size else -1.0
    assert rejected.tolist() == [x <= cutoff for x in p]


def test_null_fleet_gives_almost_no_discoveries() -> None:
    # 30 devices × 100 features with no drift: uniform p-values; BH at 1 % keeps the
    # expected number of false discoveries near zero (a per-test 1 % would give ~30).
    rng = np.random.default_rng(3)
    false = [int(benjamini_hochberg(rng.uniform(size=3000), 0.01).sum()) for _ in range(50)]
    assert np.mean(false) < 0.1


def _result(score: float, p: float | None, verdict: Verdict) -> DriftResult:
    return DriftResult("ks+psi", score, 0.2, verdict, "x", p_value=p)


def test_drift_needs_both_the_effect_floor_and_the_fdr() -> None:
    results = [
        _result(0.5, 1e-12, Verdict.DRIFT),  # big and significant → drift
        _result(0.05, 1e-12, Verdict.NO_DRIFT),  # significant but tiny → no drift
        _result(0.5, 0.2, Verdict.DRIFT),  # big but not significant → no drift
        _result(float("nan"), None, Verdict.INSUFFICIENT_DATA),
    ]
    out = fdr_control(results, 0.01)
    assert [r.verdict for r in out] == [
        Verdict.DRIFT,
        Verdict.NO_DRIFT,
        Verdict.NO_DRIFT,
        Verdict.INSUFFICIENT_DATA,
    ]
    assert "BH-adjusted p" in out[0].explanation


def test_screened_drift_on_histograms_and_categories() -> None:
    rng = np.random.default_rng(4)
    ref = from_values(rng.normal(0, 1, 5000))
    same = screened_drift(ref, from_values(rng.normal(0, 1, 2000)), min_effect=0.2)
    moved = screened_drift(ref, from_values(rng.normal(1.5, 1, 2000)), min_effect=0.2)
    assert same.verdict is Verdict.NO_DRIFT and moved.verdict is Verdict.DRIFT
    assert moved.p_value is not None and moved.p_value < 1e-6
    base = categorical_counts(["a"] * 700 + ["b"] * 300)
    new_class = categorical_counts(["a"] * 490 + ["b"] * 210 + ["c"] * 300)
    result = screened_drift(base, new_class, min_effect=0.1)
    assert result.verdict is Verdict.DRIFT and result.method == "chisquare+jensenshannon"
    with pytest.raises(ValueError, match="min_effect"):
        screened_drift(ref, ref, min_effect=0)


def test_js_sampling_bias_matches_simulated_chance_and_small_windows_need_a_real_shift() -> None:
    rng = np.random.default_rng(9)
    shares = np.full(10, 0.1)
    chance = [
        js_distance(rng.multinomial(5000, shares), rng.multinomial(75, shares)) ** 2
        for _ in range(400)
    ]
    assert np.mean(chance) == pytest.approx(sampling_bias("jensenshannon", 10, 5000, 75), rel=0.1)
    classes = [str(i) for i in range(10)]
    base = categorical_counts(list(rng.choice(classes, 5000)))
    # 75 predictions of the same mix: a raw distance around 0.12, above a 0.1 floor by chance
    # in most windows; beyond the bias, a few; with the family's FDR control, none.
    raw, results = [], []
    for _ in range(40):
        window = categorical_counts(list(rng.choice(classes, 75)))
        counts = [np.array([c.counts.get(k, 0) for k in classes]) for c in (base, window)]
        raw.append(js_distance(*counts))
        results.append(screened_drift(base, window, min_effect=0.1))
    over = sum(r.verdict is Verdict.DRIFT for r in results)
    assert sum(d >= 0.1 for d in raw) >= 20 and over <= 12
    assert all(r.verdict is not Verdict.DRIFT for r in fdr_control(results))
    # Half of the 75 a class the baseline never saw is still drift.
    unseen = categorical_counts(list(rng.choice(classes, 38)) + ["new"] * 37)
    assert screened_drift(base, unseen, min_effect=0.1).verdict is Verdict.DRIFT
    with pytest.raises(ValueError, match="sampling_bias knows"):
        sampling_bias("ks", 10, 10, 10)


def test_rare_categories_are_pooled_before_the_chi_square() -> None:
    base = categorical_counts(["a"] * 500 + ["b"] * 300 + ["c"] * 150 + ["d"] * 50)
    # A quiet window of 40 predictions: 'd' expects 2, 'c' 6; one prediction of a new class.
    quiet = categorical_counts(["a"] * 18 + ["b"] * 12 + ["c"] * 4 + ["d"] * 5 + ["new"])
    _, cur = pool_rare(base, quiet)
    assert set(cur.counts) == {"a", "b", "\x00other"} and cur.count == quiet.count
    result = screened_drift(base, quiet, min_effect=0.1)
    assert result.p_value is not None and result.p_value > 0.01
    # 30 % of 1,500 predictions of a new class still stands out after pooling.
    shifted = categorical_counts(
        ["a"] * 525 + ["b"] * 315 + ["c"] * 150 + ["d"] * 60 + ["new"] * 450
    )
    moved = screened_drift(base, shifted, min_effect=0.1)
    assert moved.p_value is not None and moved.p_value < 1e-12


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=300))
def test_pooling_keeps_totals_and_expected_counts(values: list[str]) -> None:
    base = categorical_counts(["a"] * 600 + ["b"] * 250 + ["c"] * 100 + ["d"] * 45 + ["e"] * 5)
    ref, cur = pool_rare(base, categorical_counts(values))
    assert ref.count == base.count and cur.count == len(values)
    kept = [k for k in cur.counts if k != "\x00other"]
    assert all(base.counts[k] / base.count * len(values) >= 5 for k in kept)
