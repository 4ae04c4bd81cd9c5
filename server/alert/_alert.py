"""Alerts and their state machine, with Prometheus' ``for`` and ``keep_firing_for``.

An alert becomes *pending* when its condition first holds, *firing* once it has held for
``for``, and *resolved* once the condition has been false for ``keep_firing_for``. A pending
alert whose condition stops is dropped. Resolved alerts stay for a retention period so
receivers hear about the resolution, as Prometheus keeps them for 15 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ._config import Rule
from ._duration import format_duration
from ._fingerprint import fingerprint
from ._time import format_time, parse_time, require_aware

__all__ = [
    "RESOLVED_RETENTION_S",
    "Alert",
    "AlertState",
    "Observation",
    "RuleEvaluation",
    "Transition",
    "alert_labels",
    "evaluate_rule",
]

#: How long a resolved alert stays in the active set (Prometheus' resolvedRetention).
RESOLVED_RETENTION_S = 15 * 60.0


class AlertState(StrEnum):
    """The states of an alert."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Observation:
    """One scope member's verdict from one evaluation of a rule.

    ``active`` is ``True`` when the threshold is crossed, ``False`` when not, and ``None``
    when the window had too little data: then the alert keeps its state.
    """

    labels: Mapping[str, str]
    active: bool | None
    value: float | None = None
    baseline: float | None = None
    explanation: str | None = None
    """The detector's own words on this verdict (``{{ explanation }}`` in annotations)."""


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert instance: one rule applied to one label set, with its state and timestamps."""

    fingerprint: str
    rule: str
    state: AlertState
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    active_at: datetime
    last_evaluated_at: datetime
    value: float | None = None
    baseline: float | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    keep_firing_since: datetime | None = None

    @property
    def severity(self) -> str:
        """The ``severity`` label ("" when absent)."""
        return self.labels.get("severity", "")

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage and API answers."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "state": self.state.value,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "active_at": format_time(self.active_at),
            "last_evaluated_at": format_time(self.last_evaluated_at),
            "value": self.value,
            "baseline": self.baseline,
            "fired_at": _opt_time(self.fired_at),
            "resolved_at": _opt_time(self.resolved_at),
            "keep_firing_since": _opt_time(self.keep_firing_since),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict`."""
        return cls(
            fingerprint=str(data["fingerprint"]),
            rule=str(data["rule"]),
            state=AlertState(data["state"]),
            labels={str(k): str(v) for k, v in data["labels"].items()},
            annotations={str(k): str(v) for k, v in data["annotations"].items()},
            active_at=parse_time(data["active_at"]),
            last_evaluated_at=parse_time(data["last_evaluated_at"]),
            value=_opt_float(data.get("value")),
            baseline=_opt_float(data.get("baseline")),
            fired_at=_opt_parse(data.get("fired_at")),
            resolved_at=_opt_parse(data.get("resolved_at")),
            keep_firing_since=_opt_parse(data.get("keep_firing_since")),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change for the alert history; ``None`` means "not an alert" (inactive)."""

    fingerprint: str
    rule: str
    labels: Mapping[str, str]
    from_state: AlertState | None
    to_state: AlertState | None
    at: datetime
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the history table."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "labels": dict(self.labels),
            "from_state": None if self.from_state is None else self.from_state.value,
            "to_state": None if self.to_state is None else self.to_state.value,
            "at": format_time(self.at),
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transition:
        """Inverse of :meth:`to_dict`."""
        return cls(
            fingerprint=str(data["fingerprint"]),
            rule=str(data["rule"]),
            labels={str(k): str(v) for k, v in data["labels"].items()},
            from_state=None if data["from_state"] is None else AlertState(data["from_state"]),
            to_state=None if data["to_state"] is None else AlertState(data["to_state"]),
            at=parse_time(data["at"]),
            value=_opt_float(data.get("value")),
        )


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """What one evaluation changed: the rule's alerts now, the history, and dropped alerts."""

    alerts: tuple[Alert, ...]
    transitions: tuple[Transition, ...] = ()
    removed: tuple[str, ...] = field(default=())


def _template_values(rule: Rule, obs: Observation) -> dict[str, object]:
    return {
        "device": obs.labels.get("device"),
        "feature": obs.labels.get("feature"),
        "model": obs.labels.get("model"),
        "version": obs.labels.get("version"),
        "fleet": obs.labels.get("fleet"),
        "hardware": obs.labels.get("hardware"),
        "explanation": obs.explanation,
        "value": obs.value,
        "baseline": obs.baseline,
        "threshold": "verdict" if rule.threshold is None else str(rule.threshold),
        "signal": rule.signal,
        "rule": rule.name,
        "severity": rule.severity.value,
        "window": format_duration(rule.window_s),
    }


def alert_labels(rule: Rule, obs: Observation) -> dict[str, str]:
    """The identity of the alert ``obs`` raises: scope labels, rule labels, name, severity."""
    values = _template_values(rule, obs)
    labels = dict(obs.labels)
    labels.update({k: t.render(values) for k, t in rule.labels.items()})
    labels["alertname"] = rule.name
    labels["severity"] = rule.severity.value
    return {k: v for k, v in labels.items() if v != ""}


def _annotations(rule: Rule, obs: Observation) -> dict[str, str]:
    values = _template_values(rule, obs)
    return {k: t.render(values) for k, t in rule.annotations.items()}


def evaluate_rule(
    rule: Rule,
    previous: Iterable[Alert],
    observations: Iterable[Observation],
    now: datetime,
    *,
    resolved_retention_s: float = RESOLVED_RETENTION_S,
) -> RuleEvaluation:
    """Advance ``rule``'s alerts given one evaluation's ``observations`` at ``now``.

    Members absent from ``observations`` count as inactive, like series absent from a
    Prometheus query result. Raises ``ValueError`` if two observations give one label set.
    """
    now = require_aware(now, "now")
    prior = {a.fingerprint: a for a in previous}
    active: dict[str, tuple[Observation, dict[str, str]]] = {}
    unknown: set[str] = set()
    for obs in observations:
        labels = alert_labels(rule, obs)
        fp = fingerprint(labels)
        if fp in active or fp in unknown:
            raise ValueError(
                f"rule {rule.name!r}: two observations produce the same alert labels {labels}"
            )
        if obs.active is None:
            unknown.add(fp)
        elif obs.active:
            active[fp] = (obs, labels)

    alerts: list[Alert] = []
    transitions: list[Transition] = []
    removed: list[str] = []

    def record(alert: Alert, before: AlertState | None, after: AlertState | None) -> None:
        transitions.append(
            Transition(alert.fingerprint, rule.name, alert.labels, before, after, now, alert.value)
        )

    for fp, (obs, labels) in active.items():
        old = prior.get(fp)
        annotations = _annotations(rule, obs)
        if old is not None and old.state is not AlertState.RESOLVED:
            alert = replace(
                old,
                annotations=annotations,
                value=obs.value,
                baseline=obs.baseline,
                last_evaluated_at=now,
                keep_firing_since=None,
            )
        else:
            alert = Alert(fp, rule.name, AlertState.PENDING, labels, annotations, now, now)
            alert = replace(alert, value=obs.value, baseline=obs.baseline)
            record(alert, None if old is None else old.state, AlertState.PENDING)
        if (
            alert.state is AlertState.PENDING
            and (now - alert.active_at).total_seconds() >= rule.for_s
        ):
            alert = replace(alert, state=AlertState.FIRING, fired_at=now)
            record(alert, AlertState.PENDING, AlertState.FIRING)
        alerts.append(alert)

    for fp, old in prior.items():
        if fp in active:
            continue
        if fp in unknown:
            alerts.append(replace(old, last_evaluated_at=now))
            continue
        if old.state is AlertState.PENDING:
            removed.append(fp)
            record(old, AlertState.PENDING, None)
        elif old.state is AlertState.FIRING:
            since = old.keep_firing_since or now
            if (now - since).total_seconds() < rule.keep_firing_for_s:
                alerts.append(replace(old, keep_firing_since=since, last_evaluated_at=now))
            else:
                resolved = replace(
                    old,
                    state=AlertState.RESOLVED,
                    resolved_at=now,
                    keep_firing_since=None,
                    last_evaluated_at=now,
                )
                record(resolved, AlertState.FIRING, AlertState.RESOLVED)
                alerts.append(resolved)
        elif old.resolved_at is not None and (
            (now - old.resolved_at).total_seconds() > resolved_retention_s
        ):
            removed.append(fp)
        else:
            alerts.append(replace(old, last_evaluated_at=now))
    return RuleEvaluation(tuple(alerts), tuple(transitions), tuple(removed))


def _opt_time(at: datetime | None) -> str | None:
    return None if at is None else format_time(at)


def _opt_parse(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
