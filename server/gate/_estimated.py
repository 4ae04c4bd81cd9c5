"""Estimated accuracy as a gate signal: what a fleet without labels has.

Each device-hour's score histogram is turned into an expected number right (CBPE: the mean
calibrated confidence, ``detectors.estimate_accuracy``), each version with its own calibration
(fitted from a baseline of that version with a label column). The arm's calibration-map error
is one draw shared by all its hours, so it rides along as ``Arm.shared_variance`` rather than
averaging away; the confidence sequence then stays valid for the estimate, not only for the
sampling noise.

Where labels arrive (the measured ``accuracy`` signal has evidence) the measured one is used
and no estimate is made; where a version has no calibration the signal is absent and the class
says why. The estimate assumes P(right | score) is what the baseline showed: under covariate
shift it can be wrong, and a class whose canary scores fall beyond the calibration's range
is flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edgewatch.detectors import (
    AccuracyEstimate,
    Arm,
    Calibration,
    ClassEvidence,
    ExpHistogram,
    estimate_accuracy,
    pooled_map_variance,
)
from edgewatch.server.gate._evidence import REFERENCE_PROFILE, ClassPlan
from edgewatch.server.store import DeviceHour

SIGNAL = "estimated_accuracy"
MAX_OUTSIDE_SHARE = 0.2
"""Share of a side's scores beyond its calibration's score range above which the estimate is
flagged unreliable (the map only extrapolates there: a sign of covariate shift)."""

Histograms = Mapping[tuple[str, datetime], ExpHistogram]
"""Score histogram per (device, period start)."""


@dataclass(frozen=True, slots=True)
class ClassAccuracy:
    """The canary's accuracy on one hardware class as the gate saw it."""

    hardware_class: str
    value: float | None
    """Correct share of the canary's predictions: measured, estimated, or None (neither)."""
    source: Literal["labels", "estimated"] | None
    """``labels``, ``estimated``, or None."""
    notes: tuple[str, ...]
    """Why the estimate is absent, or why it is flagged."""


def estimated_arm(
    hours: Sequence[DeviceHour], histograms: Histograms, calibration: Calibration
) -> tuple[Arm, float]:
    """One side's arm: expected correct per device-hour over its scored predictions, with the
    map's shared variance; and the share of its scores beyond the calibration's range."""
    estimates: list[tuple[str, AccuracyEstimate]] = []
    for h in hours:
        hist = histograms.get((h.device_id, h.hour))
        if hist is None or hist.count == 0:
            continue
        estimates.append((h.device_id, estimate_accuracy(hist, calibration)))
    n = sum(e.count for _, e in estimates)
    outside = sum(e.count * e.outside for _, e in estimates) / n if n else 0.0
    arm = Arm(
        events=tuple(e.accuracy * e.count for _, e in estimates),
        exposure=tuple(float(e.count) for _, e in estimates),
        devices=tuple(d for d, _ in estimates),
        shared_variance=pooled_map_variance([e for _, e in estimates]),
    )
    return arm, outside


def _measured(hours: Sequence[DeviceHour]) -> float | None:
    labelled = sum(h.labelled for h in hours)
    return sum(h.correct for h in hours) / labelled if labelled > 0 else None


def add_estimated_accuracy(
    evidence: Mapping[str, ClassEvidence],
    plans: Sequence[ClassPlan],
    hours: Sequence[DeviceHour],
    version: str,
    calibration_of: Callable[[str], Calibration | None],
    histograms_of: Callable[[str], Histograms],
) -> tuple[dict[str, ClassEvidence], tuple[ClassAccuracy, ...]]:
    """``evidence`` with the ``estimated_accuracy`` signal added to each class compared with
    another version and without labelled evidence, and each class's canary accuracy.

    ``calibration_of(version)`` and ``histograms_of(version)`` are called at most once per
    version, and only when some class needs them."""
    calibrations: dict[str, Calibration | None] = {}
    histograms: dict[str, Histograms] = {}

    def calibration(v: str) -> Calibration | None:
        if v not in calibrations:
            calibrations[v] = calibration_of(v)
        return calibrations[v]

    def scores(v: str) -> Histograms:
        if v not in histograms:
            histograms[v] = histograms_of(v)
        return histograms[v]

    out = dict(evidence)
    accuracy = []
    for plan in plans:
        hw = plan.hardware_class
        canary = [h for h in hours if h.hardware == hw and h.model_version == version]
        measured = _measured(canary)
        if "accuracy" in evidence[hw].signals or measured is not None:
            accuracy.append(
                ClassAccuracy(hw, measured, "labels" if measured is not None else None, ())
            )
            continue
        reference = plan.reference
        if reference is None or reference == REFERENCE_PROFILE:
            note = f"{SIGNAL}: no other version on {hw} to compare with"
            accuracy.append(ClassAccuracy(hw, None, None, (note,)))
            continue
        missing = [v for v in (version, reference) if calibration(v) is None]
        if missing:
            note = (
                f"{SIGNAL}: no calibration for {' and '.join(missing)} (upload a baseline with a"
                " label column); the signal is left out"
            )
            accuracy.append(ClassAccuracy(hw, None, None, (note,)))
            continue
        periods = {h.hour for h in canary}
        ref_hours = [
            h
            for h in hours
            if h.hardware == hw and h.model_version == reference and h.hour in periods
        ]
        cal_c, cal_r = calibration(version), calibration(reference)
        assert cal_c is not None and cal_r is not None
        arm_c, out_c = estimated_arm(canary, scores(version), cal_c)
        arm_r, out_r = estimated_arm(ref_hours, scores(reference), cal_r)
        if not arm_c.device_hours and not arm_r.device_hours:
            note = f"{SIGNAL}: no score histograms (ml.prediction.score) on {hw}"
            accuracy.append(ClassAccuracy(hw, None, None, (note,)))
            continue
        notes = tuple(
            f"{SIGNAL}: {share:.0%} of {v}'s scores lie beyond its calibration's range;"
            " the estimate assumes no covariate shift and may be wrong"
            for v, share in ((version, out_c), (reference, out_r))
            if share > MAX_OUTSIDE_SHARE
        )
        total = sum(arm_c.exposure)
        value = sum(arm_c.events) / total if total else None
        signals = {**evidence[hw].signals, SIGNAL: (arm_c, arm_r)}
        out[hw] = ClassEvidence(evidence[hw].canary_devices, signals)
        accuracy.append(ClassAccuracy(hw, value, "estimated" if value is not None else None, notes))
    return out, tuple(accuracy)
