"""Degradation tests: quantile regression, trend, rate drop, missing heartbeat, fleet peers
and rollout comparison — on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from edgewatch.detectors import (
    RolloutSignals,
    Verdict,
    categorical_counts,
    compare_rollout,
    from_values,
    missing_heartbeat,
    peer_outliers,
    quantile_regression,
    rate_drop,
    robust_z,
    trend,
)

RNG = np.random.default_rng(21)
LATENCY_A = from_values(RNG.lognormal(np.log(0.020), 0.3, 5000))


def test_p95_regression_needs_both_relative_and_absolute_effect() -> None:
    slower = from_values(RNG.lognormal(np.log(0.030), 0.3, 5000))
    result = quantile_regression(LATENCY_A, slower, 0.95, min_relative=0.2, min_absolute=0.005)
    assert result.verdict is Verdict.DRIFT
    assert result.score == pytest.approx(0.5, abs=0.1)
    assert "p95" in result.explanation and "regressed" in result.explanation
    # Same relative rise, but 1 ms on a 2 ms quantile is below the absolute minimum.
    tiny_a = from_values(RNG.lognormal(np.log(0.002), 0.3, 5000))
    tiny_b = from_values(RNG.lognormal(np.log(0.003), 0.3, 5000))
    assert quantile_regression(tiny_a, tiny_b, min_absolute=0.005).verdict is Verdict.NO_DRIFT


def test_quantile_regression_is_quiet_on_the_same_distribution() -> None:
    same = from_values(RNG.lognormal(np.log(0.020), 0.3, 5000))
    result = quantile_regression(LATENCY_A, same, 0.99)
    assert result.verdict is Verdict.NO_DRIFT
    assert result.binning_error is not None and result.binning_error < 0.2


def test_quantile_regression_guards_small_samples_and_bad_input() -> None:
    assert quantile_regression(LATENCY_A, from_values([1.0])).verdict is Verdict.INSUFFICIENT_DATA
    with pytest.raises(ValueError, match="q must be in"):
        quantile_regression(LATENCY_A, LATENCY_A, 1.0)
    with pytest.raises(ValueError, match="min_absolute"):
        quantile_regression(LATENCY_A, LATENCY_A, min_absolute=-1)


def test_trend_finds_a_memory_leak_and_its_slope_per_hour() -> None:
    t = np.arange(0, 6 * 3600, 60.0)  # 6 h of minute samples
    rss = 200e6 + 5e6 * t / 3600 + RNG.normal(0, 2e6, t.size)
    result = trend(t, rss, min_slope_per_hour=1e6)
    assert result.verdict is Verdict.DRIFT
    assert result.score == pytest.approx(5e6, rel=0.05)
    assert result.p_value is not None and result.p_value < 1e-10
    assert "/h" in result.explanation
    # A leak slower than the minimum slope is not reported.
    assert trend(t, rss, min_slope_per_hour=10e6).verdict is Verdict.NO_DRIFT


def test_trend_is_quiet_on_noise_and_agrees_with_kendall_tau() -> None:
    t = np.sort(RNG.uniform(0, 3600, 200))
    v = RNG.normal(50, 1, 200)
    result = trend(t, v, min_slope_per_hour=0.0, direction="both")
    assert result.verdict is Verdict.NO_DRIFT
    tau = stats.kendalltau(t, v)
    assert result.p_value == pytest.approx(tau.pvalue, abs=0.02)
    assert trend(t[::-1], v[::-1], min_slope_per_hour=0.0, direction="both") == result


def test_trend_direction_and_guards() -> None:
    t = np.arange(20.0) * 600
    falling = 80.0 - t / 600
    assert trend(t, falling, min_slope_per_hour=1.0).verdict is Verdict.NO_DRIFT
    assert (
        trend(t, falling, min_slope_per_hour=1.0, direction="decreasing").verdict is Verdict.DRIFT
    )
    assert trend(t[:5], falling[:5], min_slope_per_hour=1.0).verdict is Verdict.INSUFFICIENT_DATA
    with pytest.raises(ValueError, match="equal length"):
        trend(t, falling[:3], min_slope_per_hour=1.0)
    with pytest.raises(ValueError, match="finite"):
        trend(t, np.where(t > 0, falling, np.nan), min_slope_per_hour=1.0)
    with pytest.raises(ValueError, match="direction"):
        trend(t, falling, min_slope_per_hour=1.0, direction="up")  # type: ignore[arg-type]


def test_rate_drop_against_a_poisson_expectation() -> None:
    dropped = rate_drop(40, 120.0)
    assert dropped.verdict is Verdict.DRIFT
    assert dropped.p_value == pytest.approx(stats.poisson.cdf(40, 120.0))
    assert dropped.score == pytest.approx(1 - 40 / 120)
    assert rate_drop(112, 120.0).verdict is Verdict.NO_DRIFT
    assert rate_drop(0, 5.0).verdict is Verdict.INSUFFICIENT_DATA
    with pytest.raises(ValueError, match="observed"):
        rate_drop(-1, 10.0)


def test_missing_heartbeat_after_n_intervals() -> None:
    assert missing_heartbeat(1000.0, 1150.0, 60.0).verdict is Verdict.NO_DRIFT
    late = missing_heartbeat(1000.0, 1200.0, 60.0)
    assert late.verdict is Verdict.DRIFT and late.score == pytest.approx(200 / 60)
    assert missing_heartbeat(None, 1200.0, 60.0).verdict is Verdict.INSUFFICIENT_DATA
    with pytest.raises(ValueError, match="interval_s"):
        missing_heartbeat(1.0, 2.0, 0.0)


def test_peer_outlier_by_robust_z_within_groups() -> None:
    values = {f"d{i}": 0.020 + 0.001 * (i % 5) for i in range(12)}
    values["hot"] = 0.060
    values["other_hw"] = 0.060
    groups = {d: "jetson" for d in values} | {"other_hw": "pi"}
    results = peer_outliers(values, groups=groups)
    assert (
        results["hot"].verdict is Verdict.DRIFT and "above the median" in results["hot"].explanation
    )
    assert results["d0"].verdict is Verdict.NO_DRIFT
    assert results["other_hw"].verdict is Verdict.INSUFFICIENT_DATA  # no peers on its hardware
    # One bad peer cannot mask another: the median and MAD barely move.
    assert robust_z(0.060, [*list(values.values())[:12], 0.061]) > 3.5


def test_robust_z_with_identical_peers() -> None:
    assert robust_z(5.0, [5.0] * 6) == 0.0
    assert robust_z(6.0, [5.0] * 6) == math.inf
    assert robust_z(6.0, [5.0] * 5 + [5.5] * 2) > 0
    with pytest.raises(ValueError, match="peers"):
        robust_z(1.0, [])
    with pytest.raises(ValueError, match="groups has no entry"):
        peer_outliers({"a": 1.0}, groups={})


def test_rollout_regresses_on_latency_and_reports_every_signal() -> None:
    a = RolloutSignals(
        latency_s=LATENCY_A,
        energy_j=from_values(RNG.normal(0.5, 0.05, 5000)),
        predictions=categorical_counts(RNG.choice(["cat", "dog"], 5000)),
        confidence=from_values(RNG.beta(8, 2, 5000)),
    )
    b = RolloutSignals(
        latency_s=from_values(RNG.lognormal(np.log(0.030), 0.3, 5000)),
        energy_j=from_values(RNG.normal(0.5, 0.05, 5000)),
        predictions=categorical_counts(RNG.choice(["cat", "dog"], 5000)),
        confidence=from_values(RNG.beta(8, 2, 5000)),
    )
    result = compare_rollout(a, b)
    assert result.verdict is Verdict.DRIFT
    assert set(result.signals) == {
        "latency_p50",
        "latency_p95",
        "latency_p99",
        "energy_per_inference",
        "predictions",
        "confidence",
    }
    assert set(result.regressed_signals) == {"latency_p50", "latency_p95", "latency_p99"}
    assert result.explanation.startswith("version B regressed on latency_p50")
    assert compare_rollout(a, a).verdict is Verdict.NO_DRIFT


def test_rollout_flags_energy_and_confidence_and_guards_small_samples() -> None:
    a = RolloutSignals(
        LATENCY_A,
        energy_j=from_values(np.full(100, 0.5)),
        confidence=from_values(np.full(100, 0.9)),
    )
    b = RolloutSignals(
        LATENCY_A,
        energy_j=from_values(np.full(100, 0.7)),
        confidence=from_values(np.full(100, 0.7)),
    )
    result = compare_rollout(a, b)
    assert set(result.regressed_signals) == {"energy_per_inference", "confidence"}
    tiny = RolloutSignals(from_values([0.01, 0.02]))
    assert compare_rollout(tiny, tiny).verdict is Verdict.INSUFFICIENT_DATA


def test_trend_refuses_series_too_long_for_its_pairwise_slopes() -> None:
    t = np.arange(50.0)
    with pytest.raises(ValueError, match="max_points=40"):
        trend(t, t, min_slope_per_hour=0.0, max_points=40)


def test_wrong_input_types_are_named() -> None:
    with pytest.raises(ValueError, match="baseline must be an ExpHistogram, got list"):
        quantile_regression([0.1, 0.2], LATENCY_A)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="predictions must be CategoricalCounts or None"):
        RolloutSignals(LATENCY_A, predictions=LATENCY_A)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latency_s must be an ExpHistogram"):
        RolloutSignals(None)  # type: ignore[arg-type]
