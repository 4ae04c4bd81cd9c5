"""The Versions page's per hardware class view: each newer version against the established one,
side by side on every hardware class, from the on-device profiles (``/api/v1/profiles/compare``)
and the rollout gate's verdict (``/api/v1/rollouts/{model}/{version}``), so that "v2: p95 1.4x on
rpi4, 1.0x on jetson-nano; energy 1.2x" sits next to what the fleet measured and the gate said."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgewatch.contract import ProfileCompareOut, RolloutVerdictOut
from edgewatch.dashboard._client import Client

VERDICT_MARKS = {"pass": "✅ pass", "fail": "❌ fail", "wait": "⏳ wait"}


@dataclass(frozen=True, slots=True)
class ClassRow:
    """One hardware class: profile ratios (B/A), the gate's verdict and measured latency."""

    hardware_class: str
    profile_p95: float | None
    profile_energy: float | None
    profile_accuracy: float | None
    """Points (0.05 = 5 points better) on the profiles' labelled samples."""
    verdict: str | None
    """pass / fail / wait; None where the version does not run on the class."""
    fleet_latency: float | None
    """The gate's estimate of canary / reference latency on the fleet."""
    failed: tuple[str, ...]
    compared_with: str | None
    fleet_accuracy: float | None = None
    """The canary's accuracy on the fleet, from labels or estimated without them."""
    accuracy_source: str | None = None
    """labels / estimated / None."""


@dataclass(frozen=True, slots=True)
class VersionGate:
    """A version against the established one: the profile summary line, overall verdict,
    and one row per hardware class either side knows."""

    version: str
    against: str
    summary: str
    verdict: str
    rows: tuple[ClassRow, ...]


def version_gate(client: Client, model: str, version: str, against: str) -> VersionGate:
    """Profiles compared and the gate's verdict for ``version`` against ``against``."""
    profiles = client.profiles_compare(model, version, against)
    gate = client.rollout_verdict(model, version, against)
    return join(profiles, gate, version, against)


def join(
    profiles: ProfileCompareOut, gate: RolloutVerdictOut, version: str, against: str
) -> VersionGate:
    """One row per hardware class from the profile comparison and the gate's answer."""
    profiled = {c.hardware_class: c for c in profiles.hardware_classes}
    gated = {c.hardware_class: c for c in gate.hardware_classes}
    rows = []
    for hw in sorted(profiled.keys() | gated.keys()):
        p, g = profiled.get(hw), gated.get(hw)
        signals = [] if g is None else g.signals
        latency = next((s.estimate for s in signals if s.signal == "latency"), None)
        rows.append(
            ClassRow(
                hw,
                None if p is None else p.p95_ratio,
                None if p is None else p.energy_ratio,
                None if p is None else p.accuracy_change,
                None if g is None else g.verdict,
                latency,
                tuple(s.signal for s in signals if s.verdict == "fail"),
                None if g is None else g.compared_with,
                None if g is None else g.fleet_accuracy,
                None if g is None else g.accuracy_source,
            )
        )
    return VersionGate(version, against, profiles.summary, gate.verdict, tuple(rows))


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def _accuracy(r: ClassRow) -> str:
    if r.fleet_accuracy is None:
        return "—"
    shown = f"{r.fleet_accuracy * 100:.1f} %"
    return f"{shown} (estimated)" if r.accuracy_source == "estimated" else shown


def table(gate: VersionGate) -> dict[str, list[str]]:
    """The rows as columns for a dataframe."""
    rows: Sequence[ClassRow] = gate.rows
    return {
        "hardware class": [r.hardware_class for r in rows],
        "profile p95": [_ratio(r.profile_p95) for r in rows],
        "profile energy": [_ratio(r.profile_energy) for r in rows],
        "profile accuracy": [
            "—" if r.profile_accuracy is None else f"{r.profile_accuracy * 100:+.1f} pt"
            for r in rows
        ],
        "fleet latency": [_ratio(r.fleet_latency) for r in rows],
        "fleet accuracy": [_accuracy(r) for r in rows],
        "gate": [
            "not running" if r.verdict is None else VERDICT_MARKS.get(r.verdict, r.verdict)
            for r in rows
        ],
        "failed signals": [", ".join(r.failed) or "—" for r in rows],
        "compared with": [r.compared_with or "—" for r in rows],
    }


def headline(gate: VersionGate) -> str:
    """``v2.1 vs v1 — gate: fail`` and the profile summary."""
    mark = VERDICT_MARKS.get(gate.verdict, gate.verdict)
    return f"**{gate.version}** vs {gate.against} — rollout gate: {mark}. {gate.summary}"


__all__ = ["ClassRow", "VersionGate", "headline", "join", "table", "version_gate"]
