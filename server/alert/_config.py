"""The validated rule set: frozen values built from a rules file by :mod:`._rules_file`."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._matchers import Matcher, matches_all
from ._template import Template

__all__ = [
    "DEFAULT_GROUP_TIMING",
    "GroupTiming",
    "InhibitRule",
    "ReceiverConfig",
    "ReceiverKind",
    "Rule",
    "RuleSet",
    "Scope",
    "ScopeLevel",
    "Severity",
    "Threshold",
    "redact_url",
]


class Severity(StrEnum):
    """How urgent an alert is; also the ``severity`` label."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class ScopeLevel(StrEnum):
    """What one evaluation covers: each device, each model version, each model, or the fleet."""

    FLEET = "fleet"
    MODEL = "model"
    VERSION = "version"
    DEVICE = "device"


class ReceiverKind(StrEnum):
    """Where notifications go."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    ALERTMANAGER = "alertmanager"


_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Threshold:
    """A comparison such as ``> 0.2`` that a detector's value must satisfy to be active."""

    op: str
    value: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARATORS:
            raise ValueError(f"threshold operator must be one of >, >=, <, <=; got {self.op!r}")

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """Parse ``"> 0.2"``, ``">= 1.5"``, ``"< 0.5"`` or ``"<= 3"``."""
        match = _THRESHOLD.match(text)
        if match is None:
            raise ValueError(
                f"invalid threshold {text!r}: write a comparison and a number, e.g. '> 0.2'"
            )
        return cls(match.group(1), float(match.group(2)))

    def holds(self, value: float) -> bool:
        """Whether ``value`` crosses the threshold."""
        return _COMPARATORS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which members a rule evaluates: a level plus label matchers selecting them."""

    level: ScopeLevel
    matchers: tuple[Matcher, ...] = ()

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether a member with these labels (device, model, version, fleet) is in scope."""
        return matches_all(self.matchers, labels)


@dataclass(frozen=True, slots=True)
class GroupTiming:
    """Alertmanager's grouping options. ``group_by=None`` groups by every label (``...``)."""

    group_by: tuple[str, ...] | None = ("alertname",)
    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 4 * 3600.0


DEFAULT_GROUP_TIMING = GroupTiming()


def redact_url(url: str) -> str:
    """``url`` without credentials, path secrets or query, safe for logs and API answers."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, "/…" if parts.path not in ("", "/") else "", "", ""))


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """One receiver. ``url`` and ``secret`` are secrets: hidden from repr and :meth:`to_dict`."""

    name: str
    kind: ReceiverKind
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    send_resolved: bool = True
    timing: GroupTiming = DEFAULT_GROUP_TIMING
    timeout_s: float = 10.0
    max_alerts: int = 0
    resend_interval_s: float = 60.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON form safe for API answers and logs: no secret, the URL redacted."""
        return {
            "name": self.name,
            "type": self.kind.value,
            "url": redact_url(self.url),
            "signed": self.secret is not None,
            "send_resolved": self.send_resolved,
            "group_by": None if self.timing.group_by is None else list(self.timing.group_by),
            "group_wait_s": self.timing.group_wait_s,
            "group_interval_s": self.timing.group_interval_s,
            "repeat_interval_s": self.timing.repeat_interval_s,
            "timeout_s": self.timeout_s,
            "max_alerts": self.max_alerts,
            "resend_interval_s": self.resend_interval_s,
        }


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """While a firing alert matches ``source``, alerts matching ``target`` with the same
    values of the ``equal`` labels are muted (Alertmanager's inhibit_rules)."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One alerting rule: what a detector evaluates, where, and when it becomes an alert."""

    name: str
    detector: str
    signal: str
    threshold: Threshold | None
    """An extra condition on the detector's score; the detector's verdict decides first."""
    scope: Scope = Scope(ScopeLevel.DEVICE)
    params: Mapping[str, Any] = field(default_factory=dict)
    window_s: float = 900.0
    interval_s: float = 60.0
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    severity: Severity = Severity.WARNING
    labels: Mapping[str, Template] = field(default_factory=dict)
    annotations: Mapping[str, Template] = field(default_factory=dict)
    receivers: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything a rules file declares, validated and cross-checked."""

    rules: tuple[Rule, ...]
    receivers: tuple[ReceiverConfig, ...] = ()
    default_receivers: tuple[str, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    external_url: str = ""
    source: str = "<memory>"

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; ``KeyError`` if there is none."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def receiver(self, name: str) -> ReceiverConfig:
        """The receiver called ``name``; ``KeyError`` if there is none."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)

    def receivers_for(self, rule: Rule) -> tuple[str, ...]:
        """The receivers a rule notifies: its own list, else the route's default."""
        return rule.receivers or self.default_receivers
