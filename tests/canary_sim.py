"""Simulated canaries for the rollout gate: device-hours of a new and an established version on
one hardware class, healthy or bad by stated factors, checked every hour as evidence grows."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edgewatch.detectors import (
    AccuracyEstimate,
    Arm,
    ClassEvidence,
    GateConfig,
    GateOutcome,
    estimate_accuracy,
    evaluate_gate,
    fit_calibration,
    from_values,
    pooled_map_variance,
)

LATENCY_S = 0.02
ENERGY_J = 0.05
THROUGHPUT_PER_S = 1.0
CONFIDENCE = 0.9
HOUR_SD = 0.10
"""Hour-to-hour spread of a device's mean latency and energy (log scale)."""
DEVICE_SD = 0.03
"""Device-to-device spread on one hardware class (log scale): hours of one device are alike."""


@dataclass(frozen=True, slots=True)
class Canary:
    """How the canary differs from the established version (1.0 / 0.0 = not at all)."""

    latency: float = 1.0
    energy: float = 1.0
    error_rate: float = 1.0
    accuracy_drop: float = 0.0
    canary_devices: int = 6
    established_devices: int = 24
    inferences_per_hour: int = 3600
    labelled_per_hour: int = 60
    error_rate_base: float = 0.002
    accuracy_base: float = 0.93
    labels: bool = True
    """False: no labels arrive; accuracy is estimated from each device-hour's score histogram
    and each version's calibration (the ``estimated_accuracy`` signal) instead of measured."""
    baseline_rows: int = 10_000
    """Labelled baseline rows each version's calibration is fitted on (without labels)."""
    score_concentration: float = 20.0
    """Scores are Beta with mean the version's accuracy and this a + b: a calibrated model
    whose accuracy drop shows in its confidence, which is all CBPE can see."""
    map_variance_bound: bool = False
    """True: each arm's shared map variance is the looser former figure, the squared
    count-weighted mean of its hours' map standard deviations (the estimates' loadings are
    dropped), for comparison with the exact one on the same canaries."""


POOL_HOURS = 32
"""Score histograms estimated per version and run; each device-hour draws one of them (so a
run costs 64 estimates, not one per device-hour: the hours stay independent draws)."""


class _EstimatePool:
    """One version's calibration, fitted once per run on its own labelled baseline (so its error
    is one draw shared by every hour), and estimates of device-hours of its scores."""

    def __init__(self, c: Canary, accuracy: float, rng: np.random.Generator) -> None:
        a, b = accuracy * c.score_concentration, (1 - accuracy) * c.score_concentration
        scores = rng.beta(a, b, c.baseline_rows)
        calibration = fit_calibration(scores, rng.random(scores.size) < scores)
        self.pool = [
            estimate_accuracy(from_values(rng.beta(a, b, c.inferences_per_hour)), calibration)
            for _ in range(POOL_HOURS)
        ]
        if c.map_variance_bound:
            self.pool = [replace(e, map_loadings=()) for e in self.pool]


class _Arm:
    """Accumulates one version's device-hours."""

    def __init__(
        self, devices: int, name: str, rng: np.random.Generator, pool: _EstimatePool | None
    ) -> None:
        self.ids = [f"{name}{i}" for i in range(devices)]
        self.offset = rng.normal(0.0, DEVICE_SD, size=(devices, 2))
        self.rows: dict[str, list[float]] = {k: [] for k in _SIGNALS}
        self.devices: list[str] = []
        self.pool = pool
        self.estimates: list[AccuracyEstimate] = []

    def add_hour(self, c: Canary, canary: bool, rng: np.random.Generator) -> None:
        n = len(self.ids)
        lat = c.latency if canary else 1.0
        energy = c.energy if canary else 1.0
        err = c.error_rate_base * (c.error_rate if canary else 1.0)
        acc = c.accuracy_base - (c.accuracy_drop if canary else 0.0)
        noise = rng.normal(0.0, HOUR_SD, size=(n, 2))
        self.rows["latency"] += list(LATENCY_S * lat * np.exp(self.offset[:, 0] + noise[:, 0]))
        self.rows["energy"] += list(ENERGY_J * energy * np.exp(self.offset[:, 1] + noise[:, 1]))
        self.rows["throughput"] += list(THROUGHPUT_PER_S * np.exp(rng.normal(0, 0.05, n)))
        self.rows["confidence"] += list(CONFIDENCE * np.exp(rng.normal(0, 0.02, n)))
        self.rows["errors"] += list(rng.poisson(err * c.inferences_per_hour, n).astype(float))
        self.rows["accuracy"] += list(rng.binomial(c.labelled_per_hour, acc, n).astype(float))
        self.rows["heartbeats"] += list(rng.binomial(60, 0.01, n).astype(float))
        if self.pool is not None:
            self.estimates += [self.pool.pool[i] for i in rng.integers(0, POOL_HOURS, n)]
        self.devices += self.ids

    def arms(self, c: Canary) -> dict[str, Arm]:
        hours = len(self.devices)
        devices = tuple(self.devices)
        out = {k: Arm(values=tuple(self.rows[k]), devices=devices) for k in _VALUES}
        exposure = {
            "errors": float(c.inferences_per_hour),
            "accuracy": float(c.labelled_per_hour),
            "heartbeats": 60.0,
        }
        for k, n in exposure.items():
            out[k] = Arm(events=tuple(self.rows[k]), exposure=(n,) * hours, devices=devices)
        if not c.labels:
            del out["accuracy"]
            out["estimated_accuracy"] = Arm(
                events=tuple(e.accuracy * e.count for e in self.estimates),
                exposure=tuple(float(e.count) for e in self.estimates),
                devices=devices,
                shared_variance=pooled_map_variance(self.estimates),
            )
        return out


_VALUES = ("latency", "energy", "throughput", "confidence")
_SIGNALS = (*_VALUES, "errors", "accuracy", "heartbeats")


def run_canary(
    c: Canary,
    seed: int,
    max_hours: int = 48,
    config: GateConfig | None = None,
    stop_at_pass: bool = True,
) -> tuple[GateOutcome, int, list[str]]:
    """Check the gate after every hour; the final verdict (``wait`` at ``max_hours``), the
    canary device-hours it took, and the signals that failed. With ``stop_at_pass`` false a
    pass does not end the run: only a fail does, which is the harshest use of repeated looks."""
    rng = np.random.default_rng(seed)
    pools = (None, None)
    if not c.labels:
        pools = (
            _EstimatePool(c, c.accuracy_base - c.accuracy_drop, rng),
            _EstimatePool(c, c.accuracy_base, rng),
        )
    new = _Arm(c.canary_devices, "new", rng, pools[0])
    old = _Arm(c.established_devices, "old", rng, pools[1])
    for hour in range(1, max_hours + 1):
        new.add_hour(c, True, rng)
        old.add_hour(c, False, rng)
        a, b = new.arms(c), old.arms(c)
        evidence = {"rpi4": ClassEvidence(c.canary_devices, {k: (a[k], b[k]) for k in a})}
        result = evaluate_gate(evidence, config)
        if result.outcome is GateOutcome.FAIL or (
            stop_at_pass and result.outcome is GateOutcome.PASS
        ):
            return result.outcome, hour * c.canary_devices, result.failed
    return result.outcome, max_hours * c.canary_devices, []
