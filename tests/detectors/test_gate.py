"""The rollout gate: always-valid intervals, its false-fail rate over healthy canaries checked
every hour, and its power against bad ones (latency 1.3×, energy 1.3×, accuracy −5 points,
error rate 3×)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from canary_sim import Canary, run_canary

from edgewatch.detectors import (
    Arm,
    ClassEvidence,
    GateConfig,
    GateOutcome,
    SignalKind,
    SignalRule,
    evaluate_gate,
    half_width,
)


def test_confidence_sequence_stays_valid_under_continuous_monitoring() -> None:
    """2,000 null streams looked at after each of 300 observations: the mSPRT interval misses
    the truth at some look in at most alpha of them; the fixed 95 % interval in far more."""
    rng = np.random.default_rng(5)
    alpha, streams, looks = 0.05, 2000, 300
    x = rng.normal(0.0, 1.0, size=(streams, looks))
    n = np.arange(1, looks + 1)
    means = np.cumsum(x, axis=1) / n
    widths = np.array([half_width(1.0 / k, alpha, mixing_sd=0.3) for k in n])
    ever_out = np.any(np.abs(means) > widths, axis=1).mean()
    fixed_out = np.any(np.abs(means) > 1.96 / np.sqrt(n), axis=1).mean()
    assert ever_out <= alpha
    assert fixed_out > 3 * alpha  # why a fixed test re-run every hour is not a gate


def test_half_width_shrinks_and_validates() -> None:
    assert half_width(0.01, 0.05) > half_width(0.001, 0.05) > half_width(0.0001, 0.05)
    assert half_width(0.0, 0.05) == 0.0
    with pytest.raises(ValueError, match="alpha"):
        half_width(0.01, 1.5)


def test_healthy_canaries_checked_every_hour_rarely_fail() -> None:
    """A single signal with no margin (the strictest form): false fails stay under alpha."""
    rule = {"latency": SignalRule(SignalKind.LOG_MEAN, True, 0.0, 0.15)}
    config = GateConfig(alpha=0.1, rules=rule)
    runs = [run_canary(Canary(), seed, 12, config, stop_at_pass=False) for seed in range(60)]
    fails = sum(outcome is GateOutcome.FAIL for outcome, _, _ in runs)
    assert fails / len(runs) <= 0.1


def test_full_gate_passes_healthy_canaries() -> None:
    outcomes = [run_canary(Canary(), seed, 24)[0] for seed in range(15)]
    assert outcomes.count(GateOutcome.FAIL) == 0
    assert outcomes.count(GateOutcome.PASS) >= 13


@pytest.mark.parametrize(
    ("bad", "signal"),
    [
        (Canary(latency=1.3), "latency"),
        (Canary(energy=1.3), "energy"),
        (Canary(accuracy_drop=0.05), "accuracy"),
        (Canary(error_rate=3.0), "errors"),
    ],
)
def test_bad_canaries_fail_on_the_bad_signal(bad: Canary, signal: str) -> None:
    for seed in range(5):
        outcome, _, failed = run_canary(bad, seed, 48)
        assert outcome is GateOutcome.FAIL
        assert f"rpi4/{signal}" in failed


def test_waits_without_evidence_and_compares_with_a_profile_figure() -> None:
    assert evaluate_gate({}).outcome is GateOutcome.WAIT
    few = Arm(values=(0.02, 0.021))
    assert evaluate_gate({"rpi4": ClassEvidence(2, {"latency": (few, few)})}).outcome == "wait"
    # Against the profile's p50 of 20 ms: a canary at 30 ms fails, one at 20 ms passes.
    slow = Arm(values=tuple(0.03 * math.exp(0.02 * k) for k in range(-4, 5)))
    fine = Arm(values=tuple(0.02 * math.exp(0.02 * k) for k in range(-4, 5)))
    verdict = evaluate_gate({"rpi4": ClassEvidence(3, {"latency": (slow, 0.02)})})
    assert verdict.outcome is GateOutcome.FAIL
    signal = verdict.classes[0].signals[0]
    assert signal.estimate == pytest.approx(1.5)
    assert signal.lower > 1.05 and signal.reference_device_hours == 0
    ok = evaluate_gate({"rpi4": ClassEvidence(3, {"latency": (fine, 0.02)})})
    assert ok.outcome is GateOutcome.PASS
    # One device is not enough to pass, however clean its hours.
    one = evaluate_gate({"rpi4": ClassEvidence(1, {"latency": (fine, 0.02)})})
    assert one.outcome is GateOutcome.WAIT


def test_one_failing_class_fails_the_rollout() -> None:
    good = Arm(values=(1.0, 1.01, 0.99, 1.0))
    bad = Arm(values=(1.5, 1.51, 1.49, 1.5))
    result = evaluate_gate(
        {
            "jetson-nano": ClassEvidence(4, {"latency": (good, good)}),
            "rpi4": ClassEvidence(4, {"latency": (bad, good)}),
        }
    )
    assert result.outcome is GateOutcome.FAIL
    assert result.failed == ["rpi4/latency"]
    assert [c.outcome for c in result.classes] == ["pass", "fail"]
    assert result.test_alpha == pytest.approx(0.025)


def test_rules_and_arms_validate() -> None:
    with pytest.raises(ValueError, match="fail_margin"):
        SignalRule(SignalKind.RATE, True, 0.5, 0.1)
    with pytest.raises(ValueError, match="events"):
        Arm(events=(1.0,), exposure=())
    with pytest.raises(ValueError, match="alpha"):
        GateConfig(alpha=0.0)


def _device_arm(levels: dict[str, float], hours: int = 6) -> Arm:
    values, devices = [], []
    for device, level in levels.items():
        for k in range(hours):
            values.append(level * (1 + 0.01 * ((k % 3) - 1)))
            devices.append(device)
    return Arm(values=tuple(values), devices=tuple(devices))


def test_one_canary_device_is_judged_against_how_much_devices_differ_on_the_other_side() -> None:
    """One canary device cannot tell the version from the device, so its hours vary as one
    device's do among the reference's devices: 1.5x slower than devices that differ by a few
    percent fails; 1.1x slower than devices that differ by 20 % is no evidence either way."""
    tight = _device_arm({"a": 1.0, "b": 1.03, "c": 0.98})
    slow = _device_arm({"canary": 1.5})
    result = evaluate_gate({"rpi4": ClassEvidence(1, {"latency": (slow, tight)})})
    assert result.outcome is GateOutcome.FAIL
    spread = _device_arm({"a": 1.0, "b": 1.25, "c": 0.8})
    mild = _device_arm({"canary": 1.1})
    result = evaluate_gate({"rpi4": ClassEvidence(1, {"latency": (mild, spread)})})
    assert result.outcome is GateOutcome.WAIT
