"""Which devices and cohorts explain a model version's drift: the fleet view behind a
version-wide drift score.

Each device brings a drift score (its effect size against the version's baseline) and its
cohorts (hardware class, fleet, site). A cohort's *share* is the part of the version's
excess drift — the scores above the effect floor, summed over devices — that its devices
carry; its *lift* is how much more often its devices drift than the version's devices do.
A camera whose inputs shifted explains ~100 % on its own; a bad batch of Raspberry Pi 4s
shows as hardware=rpi4 with a high share and lift.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CohortDrift:
    """One cohort's part in a version's drift."""

    dimension: str
    value: str
    devices: int
    drifted: int
    share: float
    lift: float


def rank_cohorts(
    scores: Mapping[str, float],
    cohorts: Mapping[str, Mapping[str, str]],
    *,
    floor: float,
) -> list[CohortDrift]:
    """Devices (dimension ``device``) and cohorts ranked by their share of the excess drift
    ``max(score − floor, 0)``, then by lift; cohorts without any excess are left out.
    Example: ``rank_cohorts({"cam-1": 0.9, "cam-2": 0.01}, {"cam-1": {"hardware": "rpi4"},
    "cam-2": {"hardware": "nuc"}}, floor=0.2)[0].value`` = ``"cam-1"``."""
    if not (math.isfinite(floor) and floor >= 0):
        raise ValueError(f"floor must be finite and >= 0, got {floor!r}")
    excess = {}
    for device, score in scores.items():
        s = float(score)
        if not math.isfinite(s):
            raise ValueError(f"scores[{device!r}] must be finite, got {score!r}")
        excess[device] = max(s - floor, 0.0)
    total = sum(excess.values())
    if total == 0:
        return []
    drift_rate = sum(1 for e in excess.values() if e > 0) / len(excess)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for device in excess:
        groups[("device", device)].append(device)
        for dimension, value in cohorts.get(device, {}).items():
            groups[(dimension, value)].append(device)
    out = []
    for (dimension, value), devices in groups.items():
        mass = sum(excess[d] for d in devices)
        if mass == 0:
            continue
        drifted = sum(1 for d in devices if excess[d] > 0)
        out.append(
            CohortDrift(
                dimension,
                value,
                len(devices),
                drifted,
                mass / total,
                (drifted / len(devices)) / drift_rate,
            )
        )
    out.sort(key=lambda c: (-c.share, -c.lift, c.dimension != "device", c.dimension, c.value))
    return out
