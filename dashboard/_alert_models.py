"""Values of the alerting API (alerts, silences, drift, rules, receivers, deliveries,
baselines, version comparison) as frozen dataclasses, each with its JSON reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgewatch.dashboard._parse import Obj

ALERT_STATES = ("pending", "firing", "resolved")
SEVERITIES = ("critical", "warning", "info")
SILENCE_STATUSES = ("active", "pending", "expired")
DRIFT_VERDICTS = ("drift", "no_drift", "insufficient_data")
ROLLOUT_VERDICTS = ("b_worse", "b_better", "no_difference", "insufficient_data")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")
# Drift methods that are significance tests (edgewatch.detectors' KolmogorovSmirnov,
# ChiSquare, ZTest): their result's score is the p-value and drift means score < threshold.
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
PREDICTIONS = "(predicted classes)"
"""The ``feature`` of a drift result about the prediction mix rather than one input."""


@dataclass(frozen=True, slots=True)
class Ack:
    """Who acknowledged an alert, when, and why."""

    author: str
    comment: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert instance, identified by its fingerprint."""

    fingerprint: str
    rule: str
    state: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    active_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_evaluated_at: datetime | None
    ack: Ack | None
    silenced_by: tuple[str, ...]
    inhibited: bool

    @property
    def summary(self) -> str:
        """The alert's one-line summary, or its rule name when it has none."""
        return self.annotations.get("summary") or self.rule


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the detector judged as it did."""

    detector: str
    method: str
    score: float | None
    threshold: float | None
    verdict: str
    explanation: str
    window_from: datetime | None
    window_to: datetime | None
    baseline: dict[str, Any] | None

    @property
    def p_value(self) -> float | None:
        """The p-value behind the verdict: a significance test's score is its p-value (the
        server sends no separate one); ``None`` for distance methods such as PSI."""
        return self.score if self.method in P_VALUE_METHODS else None


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """An alert with its evidence and state history."""

    alert: Alert
    evidence: Evidence | None
    history: tuple[tuple[str, datetime], ...]
    dashboard_url: str | None


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher of a silence (Alertmanager semantics)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "is_regex": self.is_regex,
            "is_equal": self.is_equal,
        }

    def __str__(self) -> str:
        op = (
            ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        )
        return f'{self.name}{op}"{self.value}"'


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence: alerts whose labels match every matcher are not notified."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    status: str


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One drift judgement of one feature over one window and scope."""

    window_start: datetime
    window_end: datetime
    scope: str
    device: str | None
    model: str
    version: str
    feature: str
    method: str
    score: float | None
    threshold: float | None
    verdict: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A loaded alert rule and how its last evaluation went."""

    name: str
    detector: str
    severity: str
    scope: str
    interval_s: float
    for_s: float
    last_evaluated_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class FeatureSummary:
    """A baseline's profile of one feature."""

    feature: str
    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    missing: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """A reference dataset drift is judged against; ``summary`` only from the detail call."""

    id: str
    model: str
    version: str
    source: str
    created_at: datetime
    rows: int
    features: tuple[str, ...]
    summary: tuple[FeatureSummary, ...] = ()


@dataclass(frozen=True, slots=True)
class Signal:
    """One compared signal of a version comparison."""

    signal: str
    a: float | None
    b: float | None
    change: float | None
    verdict: str
    explanation: str


@dataclass(frozen=True, slots=True)
class VersionAccuracy:
    """One version's accuracy over the window: realized from late labels, estimated from its
    score histograms (each with its 95 % interval), and how many inferences were labelled."""

    labelled: int
    realized: float | None
    realized_low: float | None
    realized_high: float | None
    estimated: float | None
    estimated_low: float | None
    estimated_high: float | None
    estimate_reliable: bool


@dataclass(frozen=True, slots=True)
class VersionComparison:
    """Version B against version A with the rollout verdict."""

    verdict: str
    signals: tuple[Signal, ...]
    accuracy: dict[str, VersionAccuracy]
    """Keyed ``a`` and ``b``; empty from a server that does not send accuracy."""


def _labels(o: Obj, key: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in o.mapping(key).items() if v is not None}


def alert_of(o: Obj) -> Alert:
    ack = o.opt_obj("ack")
    return Alert(
        fingerprint=o.text("fingerprint"),
        rule=o.text("rule"),
        state=o.choice("state", ALERT_STATES),
        severity=o.text("severity"),
        labels=_labels(o, "labels"),
        annotations=_labels(o, "annotations"),
        value=o.opt_number("value"),
        active_at=o.time("active_at"),
        fired_at=o.opt_time("fired_at"),
        resolved_at=o.opt_time("resolved_at"),
        last_evaluated_at=o.opt_time("last_evaluated_at"),
        ack=None
        if ack is None
        else Ack(ack.opt_text("author") or "", ack.opt_text("comment") or "", ack.time("at")),
        silenced_by=o.texts("silenced_by"),
        inhibited=o.flag("inhibited"),
    )


def alert_detail_of(o: Obj) -> AlertDetail:
    e = o.opt_obj("evidence")
    evidence = None
    if e is not None:
        window = e.opt_obj("window")
        baseline = e.opt_obj("baseline")
        evidence = Evidence(
            detector=e.opt_text("detector") or "",
            method=e.opt_text("method") or "",
            score=e.opt_number("score"),
            threshold=e.opt_number("threshold"),
            verdict=e.opt_text("verdict") or "",
            explanation=e.opt_text("explanation") or "",
            window_from=None if window is None else window.opt_time("from"),
            window_to=None if window is None else window.opt_time("to"),
            baseline=None if baseline is None else e.mapping("baseline"),
        )
    history = (
        tuple((h.text("state"), h.time("at")) for h in o.objs("history"))
        if o.has("history")
        else ()
    )
    return AlertDetail(alert_of(o), evidence, history, o.opt_text("dashboard_url"))


def matcher_of(o: Obj) -> Matcher:
    return Matcher(
        name=o.text("name"),
        value=o.text("value"),
        is_regex=o.flag("is_regex"),
        is_equal=o.flag("is_equal", default=True),
    )


def silence_of(o: Obj) -> Silence:
    return Silence(
        id=o.ident("id"),
        matchers=tuple(matcher_of(m) for m in o.objs("matchers")),
        starts_at=o.time("starts_at"),
        ends_at=o.time("ends_at"),
        created_by=o.opt_text("created_by") or "",
        comment=o.opt_text("comment") or "",
        status=o.choice("status", SILENCE_STATUSES),
    )


def drift_result_of(o: Obj) -> DriftResult:
    return DriftResult(
        window_start=o.time("window_start"),
        window_end=o.time("window_end"),
        scope=o.text("scope"),
        device=o.opt_text("device"),
        model=o.opt_text("model") or "",
        version=o.opt_text("version") or "",
        feature=o.opt_text("feature") or PREDICTIONS,
        method=o.opt_text("method") or "",
        score=o.opt_number("score"),
        threshold=o.opt_number("threshold"),
        verdict=o.choice("verdict", DRIFT_VERDICTS),
    )


def _scope(o: Obj) -> str:
    """A rule's scope: the contract sends a string; a rules file writes ``{level: ...}``."""
    scope = o.get("scope")
    if isinstance(scope, dict):
        return str(scope.get("level", ""))
    return o.opt_text("scope") or ""


def rule_of(o: Obj) -> Rule:
    return Rule(
        name=o.text("name"),
        detector=o.text("detector"),
        severity=o.text("severity"),
        scope=_scope(o),
        interval_s=o.number("interval_s"),
        for_s=o.opt_number("for_s") or 0.0,
        last_evaluated_at=o.opt_time("last_evaluated_at"),
        last_error=o.opt_text("last_error"),
    )


def baseline_of(o: Obj) -> Baseline:
    summary = tuple(
        FeatureSummary(
            feature=s.text("feature"),
            count=s.opt_integer("count"),
            mean=s.opt_number("mean"),
            p50=s.opt_number("p50"),
            p95=s.opt_number("p95"),
            missing=s.opt_integer("missing"),
        )
        for s in (o.objs("summary") if o.get("summary") is not None else [])
    )
    return Baseline(
        id=o.ident("id"),
        model=o.text("model"),
        version=o.text("version"),
        source=o.text("source"),
        created_at=o.time("created_at"),
        rows=o.opt_integer("rows"),
        features=o.texts("features"),
        summary=summary,
    )


def _accuracy_of(o: Obj) -> VersionAccuracy:
    return VersionAccuracy(
        labelled=o.opt_integer("labelled"),
        realized=o.opt_number("realized"),
        realized_low=o.opt_number("realized_low"),
        realized_high=o.opt_number("realized_high"),
        estimated=o.opt_number("estimated"),
        estimated_low=o.opt_number("estimated_low"),
        estimated_high=o.opt_number("estimated_high"),
        estimate_reliable=o.flag("estimate_reliable", True),
    )


def comparison_of(o: Obj) -> VersionComparison:
    return VersionComparison(
        verdict=o.choice("verdict", ROLLOUT_VERDICTS),
        signals=tuple(
            Signal(
                signal=s.text("signal"),
                a=s.opt_number("a"),
                b=s.opt_number("b"),
                change=s.opt_number("change"),
                verdict=s.text("verdict"),
                explanation=s.opt_text("explanation") or "",
            )
            for s in o.objs("signals")
        ),
        accuracy={
            side: _accuracy_of(acc)
            for side in ("a", "b")
            if (sides := o.opt_obj("accuracy")) is not None
            and (acc := sides.opt_obj(side)) is not None
        },
    )
