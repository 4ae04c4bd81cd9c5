"""From device-hours and profiles to the rollout gate's evidence, per hardware class.

The canary is compared on each hardware class with the established version there: the one
named, or else the other version with the most device-hours on that class (ties go to the
version on more devices, then the name), over the same hours as the canary (concurrent
periods: time of day, load and weather then affect both sides alike). Where no other version
runs on a class yet, latency is compared with the profile of the canary version on that class,
if one was uploaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from edgewatch.detectors import Arm, ClassEvidence
from edgewatch.server.store import DeviceHour, ModelProfile

REFERENCE_PROFILE = "profile"


@dataclass(frozen=True, slots=True)
class ClassPlan:
    """What one hardware class's canary is compared with: a version, or ``profile``."""

    hardware_class: str
    reference: str | None
    canary_devices: int
    canary_device_hours: int
    reference_devices: int


def _values(hours: Iterable[DeviceHour], field: str) -> Arm:
    pairs = [(getattr(h, field), h.device_id) for h in hours]
    kept = [(v, d) for v, d in pairs if v is not None and v > 0]
    return Arm(values=tuple(v for v, _ in kept), devices=tuple(d for _, d in kept))


def _errors(hours: Iterable[DeviceHour]) -> Arm:
    kept = [h for h in hours if h.inferences > 0]
    return Arm(
        events=tuple(h.errors for h in kept),
        exposure=tuple(h.inferences for h in kept),
        devices=tuple(h.device_id for h in kept),
    )


def _throughput(hours: Iterable[DeviceHour]) -> Arm:
    """Inferences in each whole period a device spent on the version and reported in."""
    kept = [h for h in hours if h.complete and h.reported and h.inferences > 0]
    return Arm(values=tuple(h.inferences for h in kept), devices=tuple(h.device_id for h in kept))


def _heartbeats(hours: Iterable[DeviceHour]) -> Arm:
    """Per whole period on the version: 1 when the device reported nothing in it, else 0."""
    kept = [h for h in hours if h.complete]
    return Arm(
        events=tuple(0.0 if h.reported else 1.0 for h in kept),
        exposure=tuple(1.0 for _ in kept),
        devices=tuple(h.device_id for h in kept),
    )


def _accuracy(hours: Iterable[DeviceHour]) -> Arm:
    """Correct among labelled predictions, per device-hour with labels."""
    kept = [h for h in hours if h.labelled > 0]
    return Arm(
        events=tuple(h.correct for h in kept),
        exposure=tuple(h.labelled for h in kept),
        devices=tuple(h.device_id for h in kept),
    )


def _signals(
    canary: Sequence[DeviceHour], reference: Sequence[DeviceHour]
) -> dict[str, tuple[Arm, Arm]]:
    out = {
        "latency": (_values(canary, "latency_mean_s"), _values(reference, "latency_mean_s")),
        "energy": (_values(canary, "energy_j"), _values(reference, "energy_j")),
        "confidence": (_values(canary, "score_mean"), _values(reference, "score_mean")),
        "errors": (_errors(canary), _errors(reference)),
        "throughput": (_throughput(canary), _throughput(reference)),
        "heartbeats": (_heartbeats(canary), _heartbeats(reference)),
        "accuracy": (_accuracy(canary), _accuracy(reference)),
    }
    # A signal neither side reports (no power source, no scores) is not a test at all, and
    # neither is a count neither side ever saw: with no errors (or no missed report) on either
    # side the ratio is unknowable and would keep an error-free canary waiting forever.
    return {
        k: v
        for k, v in out.items()
        if (v[0].device_hours or v[1].device_hours)
        and (k not in _COUNTED or sum(v[0].events) + sum(v[1].events) > 0)
    }


_COUNTED = frozenset({"errors", "heartbeats"})
"""Signals of rare events, tested once either side has one."""


def established_version(hours: Sequence[DeviceHour]) -> str | None:
    """The model's established version: the most device-hours with data, then the most
    devices, then the name. A canary phase is a minority of the fleet's hours by design."""
    counts = Counter(h.model_version for h in hours if h.reported)
    devices = Counter(v for v, _ in {(h.model_version, h.device_id) for h in hours if h.reported})
    return max(counts, key=lambda v: (counts[v], devices[v], v), default=None)


def _from_profile(
    canary: Sequence[DeviceHour], profile: ModelProfile
) -> dict[str, tuple[Arm, float]]:
    """Latency only: a profile's energy per inference is measured at full throughput, a fleet's
    at its own load (idle draw shared by fewer inferences), so the two do not compare."""
    return {"latency": (_values(canary, "latency_mean_s"), profile.latency_mean_s)}


def build_evidence(
    hours: Sequence[DeviceHour],
    version: str,
    profiles: Sequence[ModelProfile] = (),
    established: str | None = None,
) -> tuple[dict[str, ClassEvidence], list[ClassPlan]]:
    """The gate's evidence per hardware class where ``version`` has device-hours, and the plan
    (what each class is compared with) to show beside the verdict."""
    by_class: dict[str, list[DeviceHour]] = {}
    for h in hours:
        by_class.setdefault(h.hardware, []).append(h)
    own_profiles: Mapping[str, ModelProfile] = {
        p.hardware_class: p for p in profiles if p.model_version == version
    }
    evidence: dict[str, ClassEvidence] = {}
    plans = []
    for hardware, rows in sorted(by_class.items()):
        canary = [h for h in rows if h.model_version == version]
        if not canary:
            continue
        others = [h for h in rows if h.model_version != version]
        named = established is not None and any(h.model_version == established for h in others)
        reference = established if named else None
        if established is None:
            reference = established_version(others)
        devices = len({h.device_id for h in canary if h.reported})
        if reference is not None:
            periods = {h.hour for h in canary}
            ref_rows = [h for h in rows if h.model_version == reference and h.hour in periods]
            signals: Mapping[str, tuple[Arm, Arm | float]] = _signals(canary, ref_rows)
            ref_devices = len({h.device_id for h in ref_rows})
        elif hardware in own_profiles:
            reference, ref_devices = REFERENCE_PROFILE, 0
            signals = _from_profile(canary, own_profiles[hardware])
        else:
            signals, ref_devices = {}, 0
        evidence[hardware] = ClassEvidence(devices, signals)
        reported = sum(1 for h in canary if h.reported)
        plans.append(ClassPlan(hardware, reference, devices, reported, ref_devices))
    return evidence, plans
