"""What the end-to-end scenario must raise: one expected alert per incident (rule, and the
device or model version it names), the alerts an incident may also raise as a genuine
consequence, and the detection table printed after the run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from e2e_harness import FiredAlert

from edgewatch.demo import FEATURE_NAMES


@dataclass(frozen=True, slots=True)
class Expected:
    """An incident and the alert that must announce it within ``max_delay_s`` of its onset."""

    incident: str
    device: str
    rule: str
    onset_s: float
    """Wall seconds after the fleet started (scenario start ÷ speed)."""
    max_delay_s: float
    version: str | None = None
    """For version-scoped rules: the model version the alert must name."""
    feature: bool = False
    """Drift of an input feature: the alert must name one of the model's features."""
    also: tuple[tuple[str, str], ...] = ()
    """(rule, device or version) alerts this incident may raise too: real consequences."""

    def matches(self, alert: FiredAlert) -> bool:
        """The alert announces this incident (right rule, device or version, feature)."""
        if alert.rule != self.rule:
            return False
        if self.version is not None:
            if alert.version != self.version or alert.device is not None:
                return False
        elif alert.device != self.device:
            return False
        return not self.feature or alert.labels.get("feature") in FEATURE_NAMES

    def allows(self, alert: FiredAlert) -> bool:
        """The alert is an accepted side effect of this incident."""
        target = alert.device if alert.device is not None else alert.version
        return (alert.rule, target or "") in self.also


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the detection table."""

    incident: str
    device: str
    rule: str
    detected: bool | None
    """None for a healthy device (nothing to detect)."""
    delay_s: float | None
    max_delay_s: float | None
    false_alerts: int
    false_per_device_hour: float


def first_match(expected: Expected, fired: Iterable[FiredAlert]) -> FiredAlert | None:
    """The earliest alert announcing ``expected``."""
    hits = sorted((a for a in fired if expected.matches(a)), key=lambda a: a.fired_at_s)
    return hits[0] if hits else None


def false_alerts(fired: Iterable[FiredAlert], expectations: Sequence[Expected]) -> list[FiredAlert]:
    """Fired alerts neither expected nor allowed by any incident."""
    return [a for a in fired if not any(e.matches(a) or e.allows(a) for e in expectations)]


def owner(alert: FiredAlert, devices_by_version: Mapping[str, Sequence[str]]) -> list[str]:
    """The devices an alert is about: its device, or every device on its version."""
    if alert.device is not None:
        return [alert.device]
    return list(devices_by_version.get(alert.version or "", ()))


def _detected(detected: bool | None) -> str:
    return "-" if detected is None else "yes" if detected else "NO"


def table(rows: Sequence[Row], run_s: float, extra: Sequence[str]) -> str:
    """The detection table as text (also pasted into docs/e2e.md)."""
    head = (
        f"{'incident':<20} {'device':<14} {'expected rule':<24} {'detected':<8} "
        f"{'delay':>8} {'limit':>6} {'false/dev-h':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        delay = "-" if r.delay_s is None else f"{r.delay_s:.1f} s"
        limit = "-" if r.max_delay_s is None else f"{r.max_delay_s:.0f} s"
        lines.append(
            f"{r.incident:<20} {r.device:<14} {r.rule:<24} {_detected(r.detected):<8} "
            f"{delay:>8} {limit:>6} {r.false_per_device_hour:>11.1f}"
        )
    lines.append(f"run: {run_s:.0f} s of fleet time")
    lines.extend(extra)
    return "\n".join(lines)
