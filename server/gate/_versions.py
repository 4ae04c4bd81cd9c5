"""Versions side by side per hardware class, from their profiles: how much slower, hungrier or
less accurate one version is than another on each class, before either ships widely."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgewatch.server.store import ModelProfile


@dataclass(frozen=True, slots=True)
class ClassComparison:
    """``version`` against ``against`` on one hardware class (None where a figure is missing)."""

    hardware_class: str
    p95_ratio: float
    energy_ratio: float | None
    accuracy_change: float | None
    """Points (0.05 = 5 points better), from the labelled samples of the two profiles."""


@dataclass(frozen=True, slots=True)
class VersionComparison:
    model_name: str
    version: str
    against: str
    classes: tuple[ClassComparison, ...]

    @property
    def summary(self) -> str:
        """One line such as ``v2 vs v1: p95 1.4x on rpi4, 1.0x on jetson-nano; energy 1.2x``."""
        if not self.classes:
            return f"{self.version} vs {self.against}: no hardware class profiled for both"
        parts = [f"p95 {_ratios([(c.hardware_class, c.p95_ratio) for c in self.classes])}"]
        energy = [(c.hardware_class, c.energy_ratio) for c in self.classes if c.energy_ratio]
        if energy:
            parts.append(f"energy {_ratios(energy)}")
        return f"{self.version} vs {self.against}: " + "; ".join(parts)


def _ratios(pairs: Sequence[tuple[str, float | None]]) -> str:
    shown = [(hw, f"{r:.1f}x") for hw, r in pairs if r is not None]
    if len({text for _, text in shown}) == 1:
        return shown[0][1]  # the same on every class: say it once
    return ", ".join(f"{text} on {hw}" for hw, text in shown)


def compare_versions(
    profiles: Sequence[ModelProfile], model_name: str, version: str, against: str
) -> VersionComparison:
    """Ratios of ``version``'s profile figures to ``against``'s on every class both profiled."""
    mine = {p.hardware_class: p for p in profiles if p.model_version == version}
    theirs = {p.hardware_class: p for p in profiles if p.model_version == against}
    classes = []
    for hw in sorted(mine.keys() & theirs.keys()):
        a, b = mine[hw], theirs[hw]
        energy = a.energy_j / b.energy_j if a.energy_j and b.energy_j else None
        accuracy = (
            a.accuracy - b.accuracy if a.accuracy is not None and b.accuracy is not None else None
        )
        classes.append(ClassComparison(hw, a.latency_p95_s / b.latency_p95_s, energy, accuracy))
    return VersionComparison(model_name, version, against, tuple(classes))
