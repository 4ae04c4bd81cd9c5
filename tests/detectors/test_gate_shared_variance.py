"""Estimated accuracy in the gate: the calibration map's error as a variance the arm's hours
share (checked against the estimate of the merged histogram and the confidence sequence itself),
and the no-labels canaries of the simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from canary_sim import Canary, run_canary
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.detectors import (
    Arm,
    GateConfig,
    GateOutcome,
    SignalKind,
    SignalRule,
    confidence_sequence,
    estimate_accuracy,
    evaluate_signal,
    fit_calibration,
    from_values,
    merge,
    pooled_map_variance,
)

_RNG = np.random.default_rng(0)
_SCORES = _RNG.beta(6, 2, 400)
CALIBRATION = fit_calibration(_SCORES, _RNG.random(400) < _SCORES)
"""A map from few rows: its error is large enough to matter."""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.floats(0.5, 40), st.floats(0.5, 40), st.integers(1, 300)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**31),
)
def test_pooled_map_variance_bounds_the_merged_windows_map_variance(
    shapes: list[tuple[float, float, int]], seed: int
) -> None:
    """Oracle: the estimate of all windows' scores merged into one histogram. The pooled figure
    must not understate it (the map error does not average away over windows), and for one
    window it is that window's own."""
    rng = np.random.default_rng(seed)
    hists = [from_values(rng.beta(a, b, n)) for a, b, n in shapes]
    parts = [estimate_accuracy(h, CALIBRATION) for h in hists]
    merged = hists[0]
    for h in hists[1:]:
        merged = merge(merged, h)
    whole = estimate_accuracy(merged, CALIBRATION)
    pooled = pooled_map_variance(parts)
    assert pooled >= whole.map_variance * (1 - 1e-6) - 1e-12
    assert pooled <= max(p.map_variance for p in parts) * (1 + 1e-9)
    if len(parts) == 1:
        assert pooled == pytest.approx(parts[0].map_variance)
    for p in parts:
        assert 0.0 <= p.map_variance <= p.std**2 * (1 + 1e-9)


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
