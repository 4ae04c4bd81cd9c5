"""Estimated accuracy in the gate: the calibration map's error as a variance the arm's hours
share (checked against the estimate's linearity in the map's knots, the spread over independently
fitted maps and the confidence sequence itself), and the no-labels canaries of the simulation."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from canary_sim import Canary, run_canary
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgewatch.detectors import (
    Arm,
    Calibration,
    ExpHistogram,
    GateConfig,
    GateOutcome,
    SignalKind,
    SignalRule,
    confidence_sequence,
    estimate_accuracy,
    evaluate_signal,
    fit_calibration,
    from_values,
    pooled_map_variance,
)

_RNG = np.random.default_rng(0)
_SCORES = _RNG.beta(6, 2, 400)
CALIBRATION = fit_calibration(_SCORES, _RNG.random(400) < _SCORES)
"""A map from few rows: its error is large enough to matter."""


def _knot_variance(cal: Calibration) -> np.ndarray:
    """Each knot's error variance: a binomial share of its block's rows, shrunk off 0 and 1."""
    smoothed = (cal.y * cal.weight + 1) / (cal.weight + 2)
    return smoothed * (1 - smoothed) / cal.weight


def _mean_accuracy(hists: list[ExpHistogram], cal: Calibration) -> float:
    """What the gate's proportion estimates: right predictions over predictions, all windows."""
    parts = [estimate_accuracy(h, cal) for h in hists]
    return sum(p.accuracy * p.count for p in parts) / sum(p.count for p in parts)


# Counterexamples to the former oracle (one estimate of the windows merged into one histogram,
# whose map variance exceeded the pooled figure): two windows of one score each (0.7025 and
# 0.7126; the merge coarsens their buckets, 0.031806 > 0.031762), four scores in all (0.003567
# > 0.003565), and a merge at the windows' own scale whose edge buckets widen to the merged range.
@example(shapes=[(1.0, 1.0, 1), (1.0, 1.0, 1)], seed=0)
@example(shapes=[(1.0, 1.0, 1), (1.0, 1.0, 3)], seed=128)
@example(shapes=[(1.0, 1.0, 35), (1.0, 1.0, 124)], seed=168)
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.5, 40), st.floats(0.5, 40), st.integers(1, 300)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**31),
)
def test_pooled_map_variance_is_the_map_variance_of_the_windows_mean_accuracy(
    shapes: list[tuple[float, float, int]], seed: int
) -> None:
    """Oracle: the gate's estimate (all windows' right over their count) is linear in the map's
    knots, so its sensitivity to knot ``k`` is that estimate under a map that is 1 at ``k`` and
    0 elsewhere, and its map variance the sum of the squared sensitivities times the knots'
    variances. It must also stay under the former figure, the squared count-weighted mean of
    the windows' map standard deviations (Minkowski), and equal a lone window's own."""
    rng = np.random.default_rng(seed)
    hists = [from_values(rng.beta(a, b, n)) for a, b, n in shapes]
    parts = [estimate_accuracy(h, CALIBRATION) for h in hists]
    knots = CALIBRATION.y.size
    unit = np.eye(knots)
    sensitivity = np.array(
        [_mean_accuracy(hists, replace(CALIBRATION, y=unit[k])) for k in range(knots)]
    )
    expected = float((sensitivity**2 * _knot_variance(CALIBRATION)).sum())
    pooled = pooled_map_variance(parts)
    assert pooled == pytest.approx(expected, rel=1e-9, abs=1e-15)
    counts = np.array([p.count for p in parts], dtype=float)
    stds = np.sqrt([p.map_variance for p in parts])
    assert pooled <= float(counts @ stds / counts.sum()) ** 2 * (1 + 1e-9)
    assert pooled <= max(p.map_variance for p in parts) * (1 + 1e-9)
    if len(parts) == 1:
        assert pooled == pytest.approx(parts[0].map_variance)
    for p in parts:
        assert 0.0 <= p.map_variance <= p.std**2 * (1 + 1e-9)
        assert p.map_variance == pytest.approx(float(np.square(p.map_loadings).sum()))


def test_pooled_map_variance_covers_the_map_error_over_independent_baselines() -> None:
    """Oracle: the spread of the windows' mean accuracy over maps fitted on 300 independent
    400-row baselines of one truth (P(right | score) = score), the windows held fixed. The
    pooled figure must not understate it; for windows of different scores it sits well under
    the former bound, which understates nothing either."""
    rng = np.random.default_rng(7)
    hists = [from_values(rng.beta(a, b, 500)) for a, b in ((2, 2), (20, 2))]
    means, pooled, bound = [], [], []
    for _ in range(300):
        scores = rng.beta(6, 2, 400)
        cal = fit_calibration(scores, rng.random(400) < scores)
        parts = [estimate_accuracy(h, cal) for h in hists]
        means.append(_mean_accuracy(hists, cal))
        pooled.append(pooled_map_variance(parts))
        bound.append(pooled_map_variance([replace(p, map_loadings=()) for p in parts]))
    assert np.var(means) <= np.mean(pooled) <= np.mean(bound) * 0.8


def test_estimates_without_loadings_enter_through_their_standard_deviation() -> None:
    """Oracle: Minkowski's bound, the count-weighted mean of the map standard deviations, for
    the windows whose loadings are unknown; the exact pooled part for the rest."""
    rng = np.random.default_rng(3)
    parts = [
        estimate_accuracy(from_values(rng.beta(a, 2, n)), CALIBRATION)
        for a, n in ((1, 50), (6, 80), (20, 30))
    ]
    bare = [replace(p, map_loadings=()) for p in parts]
    counts = np.array([p.count for p in parts], dtype=float)
    stds = np.sqrt([p.map_variance for p in parts])
    bound = float(counts @ stds / counts.sum()) ** 2
    assert pooled_map_variance(bare) == pytest.approx(bound, rel=1e-12)
    exact = pooled_map_variance(parts)
    assert exact < bound * (1 - 1e-3)  # windows of different scores: the exact figure is tighter
    mixed = pooled_map_variance([parts[0], parts[1], bare[2]])
    first_two = math.sqrt(pooled_map_variance(parts[:2])) * counts[:2].sum()
    assert mixed == pytest.approx(((first_two + counts[2] * stds[2]) / counts.sum()) ** 2)
    assert exact <= mixed <= bound


def test_loadings_from_different_maps_are_refused() -> None:
    other = fit_calibration(_SCORES[:50], _SCORES[:50] > 0.7)
    assert other.y.size != CALIBRATION.y.size
    scores = from_values(_SCORES[:20])
    with pytest.raises(ValueError, match="one map"):
        pooled_map_variance(
            [estimate_accuracy(scores, CALIBRATION), estimate_accuracy(scores, other)]
        )


def test_pooled_map_variance_of_nothing_is_zero() -> None:
    assert pooled_map_variance([]) == 0.0
    assert pooled_map_variance([estimate_accuracy(from_values([]), CALIBRATION)]) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=3, max_size=12),
    st.lists(st.integers(0, 100), min_size=3, max_size=12),
    st.floats(0.0, 0.01),
    st.floats(0.0, 0.01),
)
def test_shared_variance_adds_to_the_effects_variance(
    canary: list[int], reference: list[int], shared_c: float, shared_r: float
) -> None:
    """Oracle: the confidence sequence at the no-shared variance plus both arms' shared terms."""
    rule = SignalRule(SignalKind.PROPORTION, False, 0.01, 0.03)
    config = GateConfig()

    def arm(events: list[int], shared: float) -> Arm:
        return Arm(
            events=tuple(map(float, events)),
            exposure=(100.0,) * len(events),
            shared_variance=shared,
        )

    plain = evaluate_signal("a", rule, arm(canary, 0.0), arm(reference, 0.0), 0.01, config)
    shared = evaluate_signal(
        "a", rule, arm(canary, shared_c), arm(reference, shared_r), 0.01, config
    )
    half = (plain.upper - plain.lower) / 2
    # Recover the plain variance from its interval, add the shared terms, and compare.
    variance = _variance_for_half_width(half, 0.01, config.mixing_sd)
    expected = confidence_sequence(
        plain.estimate, variance + shared_c + shared_r, 0.01, config.mixing_sd
    )
    assert shared.estimate == pytest.approx(plain.estimate)
    assert shared.lower == pytest.approx(expected.lower, rel=1e-6, abs=1e-9)
    assert shared.upper == pytest.approx(expected.upper, rel=1e-6, abs=1e-9)


def _variance_for_half_width(half: float, alpha: float, mixing_sd: float) -> float:
    """Bisection on the confidence sequence's half-width, which grows with the variance."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        cs = confidence_sequence(0.0, mid, alpha, mixing_sd)
        lo, hi = (mid, hi) if cs.upper < half else (lo, mid)
    return (lo + hi) / 2


def test_shared_variance_must_be_a_variance() -> None:
    with pytest.raises(ValueError, match="shared_variance"):
        Arm(events=(1.0,), exposure=(2.0,), shared_variance=-0.1)
    with pytest.raises(ValueError, match="shared_variance"):
        Arm(events=(1.0,), exposure=(2.0,), shared_variance=math.nan)


def test_without_labels_a_5_point_drop_fails_on_the_estimate_and_healthy_ones_do_not() -> None:
    bad = [run_canary(Canary(accuracy_drop=0.05, labels=False), 100 + s, 24) for s in range(4)]
    assert sum(o is GateOutcome.FAIL for o, _, _ in bad) >= 3
    assert all("rpi4/estimated_accuracy" in failed for o, _, failed in bad if failed)
    healthy = [run_canary(Canary(labels=False), s, 12, stop_at_pass=False)[0] for s in range(6)]
    assert GateOutcome.FAIL not in healthy
