"""drift(), the method classes, dataset_drift and the registry: Evidently's method choice,
the minimum-sample guard, explanations, and errors that name the bad input."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest

from edgewatch.detectors import (
    DRIFT_METHODS,
    ChiSquare,
    DriftResult,
    JensenShannon,
    KolmogorovSmirnov,
    Psi,
    Verdict,
    Wasserstein,
    ZTest,
    auto_method,
    categorical_counts,
    dataset_drift,
    detector_names,
    drift,
    from_values,
    get_drift_method,
)

RNG = np.random.default_rng(3)
SMALL_A, SMALL_B = from_values(RNG.normal(0, 1, 500)), from_values(RNG.normal(0, 1, 500))
LARGE_A, LARGE_B = from_values(RNG.normal(0, 1, 5000)), from_values(RNG.normal(2, 1, 5000))


@pytest.mark.parametrize(
    ("reference", "current", "expected"),
    [
        (SMALL_A, SMALL_B, "ks"),
        (from_values(RNG.normal(size=1000)), SMALL_B, "ks"),
        (from_values(RNG.normal(size=1001)), SMALL_B, "wasserstein"),
        (LARGE_A, LARGE_B, "wasserstein"),
        (categorical_counts("ab" * 100), categorical_counts("ab" * 50), "z"),
        (categorical_counts("a" * 100), categorical_counts("b" * 50), "z"),
        (categorical_counts("abc" * 100), categorical_counts("ab" * 50), "chisquare"),
        (categorical_counts("ab" * 501), categorical_counts("ab" * 50), "jensenshannon"),
    ],
)
def test_auto_picks_evidentlys_default_method(reference, current, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert auto_method(reference, current) == expected
    result = drift(reference, current)
    assert result.method == expected
    assert result.threshold == (0.05 if expected in ("ks", "z", "chisquare") else 0.1)


def test_a_clear_shift_is_drift_and_the_explanation_says_why() -> None:
    result = drift(LARGE_A, LARGE_B)
    assert result.verdict is Verdict.DRIFT and result.drift_detected
    assert result.score == pytest.approx(2.0, rel=0.05)
    assert "Wasserstein" in result.explanation and "≥ 0.1" in result.explanation
    assert (
        "reference n=5000" in result.explanation and "normed by reference std" in result.explanation
    )


def test_threshold_is_a_parameter() -> None:
    assert drift(LARGE_A, LARGE_B, threshold=5.0).verdict is Verdict.NO_DRIFT
    assert drift(LARGE_A, LARGE_B, "psi", 100.0).verdict is Verdict.NO_DRIFT


@pytest.mark.parametrize("method", sorted(DRIFT_METHODS))
def test_too_few_current_values_is_insufficient_never_drift(method: str) -> None:
    if method in ("chisquare", "z"):
        ref, cur = categorical_counts("ab" * 100), categorical_counts("bbbbbbbbbb")
    else:
        ref, cur = LARGE_A, from_values(np.full(10, 50.0))
    result = drift(ref, cur, method)
    assert result.verdict is Verdict.INSUFFICIENT_DATA and not result.drift_detected
    assert math.isnan(result.score)
    assert "current has 10 observations" in result.explanation
    assert drift(ref, cur, method, min_samples=5).verdict is Verdict.DRIFT


def test_empty_reference_is_insufficient() -> None:
    result = drift(from_values([]), LARGE_B)
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    assert "reference has 0 observations" in result.explanation


def test_results_are_frozen_and_pickle() -> None:
    result = drift(LARGE_A, LARGE_B, "ks")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(result)) == result
    assert result.p_value == result.score and result.statistic is not None


def test_psi_epsilon_bounds_empty_bins() -> None:
    ref = categorical_counts("a" * 100 + "b" * 100)
    cur = categorical_counts("a" * 200)
    loose, tight = Psi(epsilon=1e-2).compare(ref, cur), Psi(epsilon=1e-6).compare(ref, cur)
    assert 0 < loose.score < tight.score
    assert tight.score == pytest.approx(
        (1 - 0.5) * math.log(1 / 0.5) + (1e-6 - 0.5) * math.log(1e-6 / 0.5)
    )


def test_new_category_is_chi_square_drift() -> None:
    result = ChiSquare().compare(categorical_counts("ab" * 50), categorical_counts("abc" * 40))
    assert result.verdict is Verdict.DRIFT and result.p_value == 0.0
    assert result.statistic == math.inf


def test_z_test_follows_the_proportion() -> None:
    same = ZTest().compare(categorical_counts("ab" * 100), categorical_counts("ba" * 100))
    moved = ZTest().compare(
        categorical_counts("ab" * 100), categorical_counts("a" * 150 + "b" * 50)
    )
    assert same.p_value == pytest.approx(1.0) and same.verdict is Verdict.NO_DRIFT
    assert moved.verdict is Verdict.DRIFT and moved.p_value is not None and moved.p_value < 1e-6


def test_kolmogorov_smirnov_p_value_follows_the_shift() -> None:
    calm = KolmogorovSmirnov().compare(SMALL_A, SMALL_B)
    moved = KolmogorovSmirnov().compare(SMALL_A, from_values(RNG.normal(1, 1, 500)))
    assert calm.verdict is Verdict.NO_DRIFT
    assert moved.verdict is Verdict.DRIFT and moved.score < 1e-10


def test_wasserstein_norm_uses_reference_std_with_a_floor() -> None:
    ref = from_values(np.full(100, 3.0))
    cur = from_values(np.full(100, 3.0005))
    result = Wasserstein(min_std=1e-3).compare(ref, cur)
    assert result.score == pytest.approx(0.5, rel=0.1)
    assert Wasserstein(normed=False).compare(ref, cur).score == pytest.approx(5e-4, rel=0.1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: drift(LARGE_A, LARGE_B, "bogus"), "method must be 'auto' or one of"),
        (lambda: drift(LARGE_A, categorical_counts("ab")), "both be ExpHistogram"),
        (lambda: Psi().compare(LARGE_A, categorical_counts("ab")), "compare like with like"),
        (
            lambda: Wasserstein().compare(categorical_counts("a"), categorical_counts("b")),
            "reference must be ExpHistogram",
        ),
        (lambda: ChiSquare().compare(LARGE_A, LARGE_B), "reference must be CategoricalCounts"),
        (
            lambda: ZTest().compare(categorical_counts("abc" * 20), categorical_counts("ab" * 20)),
            "at most 2 categories",
        ),
        (lambda: Psi(threshold=-1), "threshold must be finite and > 0"),
        (lambda: KolmogorovSmirnov(threshold=1.5), r"threshold must be in \(0, 1\)"),
        (lambda: Psi(epsilon=0), "epsilon"),
        (lambda: JensenShannon(n_bins=1), "n_bins"),
        (lambda: Wasserstein(min_std=-1), "min_std"),
        (lambda: Psi(min_samples=0), "min_samples"),
        (lambda: get_drift_method("nope"), "unknown drift method 'nope'"),
        (lambda: dataset_drift({}, share=0), "share"),
        (lambda: dataset_drift({"x": 1.0}), r"per_feature\['x'\]"),  # type: ignore[dict-item]
    ],
)
def test_bad_inputs_raise_errors_naming_them(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_registry_lists_every_method_by_name() -> None:
    names = detector_names()
    assert names["drift"] == sorted(
        ["psi", "jensenshannon", "hellinger", "wasserstein", "ks", "chisquare", "z"]
    )
    assert names["streaming"] == ["cusum", "ewma", "page_hinkley"]
    assert "trend" in names["degradation"] and "peer_outlier" in names["degradation"]
    psi = get_drift_method("psi", threshold=0.2, n_bins=20)
    assert isinstance(psi, Psi) and psi.threshold == 0.2 and psi.n_bins == 20
    assert "threshold=0.2" in repr(psi)


def _result(verdict: Verdict) -> DriftResult:
    return DriftResult("psi", 0.0, 0.1, verdict, "x")


def test_dataset_drift_by_share_of_judged_features() -> None:
    features = {
        "a": _result(Verdict.DRIFT),
        "b": _result(Verdict.NO_DRIFT),
        "c": _result(Verdict.INSUFFICIENT_DATA),
    }
    result = dataset_drift(features)
    assert result.verdict is Verdict.DRIFT and result.drifted_share == 0.5
    assert result.drifted_features == ["a"]
    assert (
        "1 of 2 features drifted" in result.explanation
        and "1 with insufficient data" in result.explanation
    )
    assert dataset_drift(features, share=0.75).verdict is Verdict.NO_DRIFT


def test_dataset_drift_with_nothing_judged_is_insufficient() -> None:
    result = dataset_drift({"a": _result(Verdict.INSUFFICIENT_DATA)})
    assert result.verdict is Verdict.INSUFFICIENT_DATA and math.isnan(result.drifted_share)
