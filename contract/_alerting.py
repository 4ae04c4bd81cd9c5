"""Bodies of the alerting API: alerts, silences, rules, receivers, deliveries, drift results,
baselines, profiles, rollout verdicts and version comparisons. Times are aware ``datetime``
(``Timestamp``, RFC 3339, on the wire)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from edgewatch.contract._numbers import JSON_NUMBER
from edgewatch.contract._time import MAX_SPAN_S, MAX_UNIX_S, Timestamp, from_unix_s

AlertState = Literal["pending", "firing", "resolved"]
Severity = Literal["critical", "warning", "info"]
DeliveryStatus = Literal["pending", "delivered", "failed", "dead", "superseded"]
CompareVerdict = Literal["b_worse", "b_better", "no_difference", "insufficient_data"]
ALERT_STATES: tuple[AlertState, ...] = ("pending", "firing", "resolved")
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
"""Most urgent first."""
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
"""Drift methods that are significance tests (the detectors' KolmogorovSmirnov, ChiSquare,
ZTest): their score is the p-value and drift means score < threshold."""
PREDICTIONS = "(predicted classes)"
"""How a drift result about the prediction mix (``feature`` null) is named to people."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    """A request body: unknown fields are refused so a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _bounded(at: Any) -> Any:
    """Reject instants outside 1970..3000, where adding a duration could overflow."""
    if at is not None:
        from_unix_s(min(at.timestamp(), MAX_UNIX_S + 1))
    return at


class AckOut(_Out):
    author: str
    comment: str
    at: Timestamp


class AlertOut(_Out):
    """One alert; labels are the selection vocabulary (``device``, ``model``, ``version``,
    ``fleet``, ``feature``)."""

    fingerprint: str
    rule: str
    state: AlertState
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str] = Field(description="summary and description always present")
    value: float | None
    active_at: Timestamp
    fired_at: Timestamp | None
    resolved_at: Timestamp | None
    last_evaluated_at: Timestamp | None
    ack: AckOut | None
    silenced_by: list[str]
    inhibited: bool

    @property
    def summary(self) -> str:
        """The alert's one-line summary, or its rule name when it has none."""
        return self.annotations.get("summary") or self.rule


class AlertList(_Out):
    alerts: list[AlertOut]


class WindowOut(_Out):
    from_: Timestamp = Field(alias="from")
    to: Timestamp

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class BaselineBriefOut(_Out):
    """The baseline an evaluation compared against (``deleted`` once it is gone; ``profile``,
    as ``VERSION@HARDWARE``, when it was an uploaded profile's)."""

    id: str
    profile: str | None = None
    source: str | None = None
    created_at: Timestamp | None = None
    rows: int | None = None
    window: WindowOut | None = None
    deleted: bool = False


class EvidenceOut(_Out):
    """The latest detector result behind an alert."""

    detector: str
    method: str | None
    score: float | None
    threshold: float | None
    verdict: str
    explanation: str | None
    window: WindowOut
    baseline: BaselineBriefOut | None

    @property
    def p_value(self) -> float | None:
        """The p-value behind the verdict: a significance test's score is its p-value (the
        server sends no separate one); ``None`` for distance methods such as PSI."""
        return self.score if self.method in P_VALUE_METHODS else None


class HistoryOut(_Out):
    state: Literal["pending", "firing", "resolved", "inactive"]
    at: Timestamp


class AlertDetailOut(AlertOut):
    evidence: EvidenceOut | None
    history: list[HistoryOut]
    dashboard_url: str | None
    report_url: str | None


class AckIn(_In):
    """Who takes the alert in hand, and why."""

    author: str = Field(min_length=1, max_length=200)
    comment: str = Field("", max_length=2000)


LABEL_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A label name, as in Prometheus: letters, digits and ``_``, not first a digit."""


class MatcherIn(_In):
    """Alertmanager's matcher shape."""

    name: str = Field(pattern=LABEL_NAME_PATTERN)
    value: str
    is_regex: StrictBool = False
    is_equal: StrictBool = True


class MatcherOut(_Out):
    name: str
    value: str
    is_regex: bool
    is_equal: bool

    def __str__(self) -> str:
        """As Alertmanager writes a matcher: ``name=~"value"``."""
        op = (
            ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        )
        return f'{self.name}{op}"{self.value}"'


class SilenceIn(BaseModel):
    """A new silence: matchers, when (``ends_at`` or ``duration_s``), who and why."""

    matchers: list[MatcherIn] = Field(min_length=1)
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    duration_s: (
        Annotated[float, Field(gt=0, le=MAX_SPAN_S, allow_inf_nan=False), JSON_NUMBER] | None
    ) = None
    created_by: str
    comment: str

    @model_validator(mode="after")
    def _when(self) -> SilenceIn:
        _bounded(self.starts_at)
        _bounded(self.ends_at)
        if (self.ends_at is None) == (self.duration_s is None):
            raise ValueError("give exactly one of ends_at and duration_s")
        return self


class SilenceOut(_Out):
    id: str
    matchers: list[MatcherOut]
    starts_at: Timestamp
    ends_at: Timestamp
    created_by: str
    comment: str
    status: Literal["active", "pending", "expired"]


class SilenceList(_Out):
    silences: list[SilenceOut]


class ScopeOut(_Out):
    level: str
    matchers: list[str]


class RuleOut(_Out):
    name: str
    detector: str
    severity: str
    scope: ScopeOut
    interval_s: float
    for_s: float
    last_evaluated_at: Timestamp | None
    last_error: str | None
    skipped_evaluations: int


class RuleList(_Out):
    rules: list[RuleOut]


class ReloadOut(_Out):
    ok: bool
    rules: int = Field(description="rules in force after the reload")


class ReceiverOut(_Out):
    name: str
    type: str
    endpoint_host: str = Field(description="host[:port] only; never the path or a secret")
    delivered: int
    pending: int
    failed: int
    dead: int
    last_success_at: Timestamp | None
    last_error: str | None


class ReceiverList(_Out):
    receivers: list[ReceiverOut]


class DeliveryOut(_Out):
    """A delivery without its body."""

    id: str
    receiver: str
    notification_id: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    next_attempt_at: Timestamp | None


class AttemptOut(_Out):
    at: Timestamp
    outcome: str
    status_code: int | None
    error: str | None
    duration_s: float
    retry_after_s: float | None


class DeliveryDetailOut(DeliveryOut):
    history: list[AttemptOut]


class DeliveryList(_Out):
    deliveries: list[DeliveryOut]


class DriftRowOut(_Out):
    """One drift score the scheduler recorded."""

    window_start: Timestamp
    window_end: Timestamp
    scope: str
    device: str | None
    model: str | None
    version: str | None
    feature: str | None
    rule: str
    method: str | None
    score: float | None
    threshold: float | None
    verdict: str

    @property
    def subject(self) -> str:
        """The feature judged, or :data:`PREDICTIONS` for the prediction mix."""
        return self.feature or PREDICTIONS


class DriftResults(_Out):
    results: list[DriftRowOut]


class SignalCompareOut(_Out):
    signal: str
    a: float | None
    b: float | None
    change: float | None
    verdict: CompareVerdict
    explanation: str | None


class VersionAccuracyOut(_Out):
    """Realized (from labels) and estimated (from scores) accuracy of one version."""

    labelled: int
    coverage: float | None
    realized: float | None
    realized_low: float | None
    realized_high: float | None
    estimated: float | None
    estimated_low: float | None
    estimated_high: float | None
    estimate_reliable: bool | None
    reference: float | None = Field(description="the version's reference accuracy (calibration)")


class VersionCompareOut(_Out):
    """Version B against version A of one model over a window."""

    verdict: CompareVerdict
    signals: list[SignalCompareOut]
    accuracy: dict[Literal["a", "b"], VersionAccuracyOut]


class FeatureSummaryOut(_Out):
    feature: str
    kind: str
    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    missing: int


class BaselineOut(_Out):
    """A baseline; ``summary`` (per-feature figures) when one baseline is shown."""

    id: str
    model: str
    version: str
    device: str | None
    source: str
    created_at: Timestamp
    rows: int
    features: list[str]
    window: WindowOut | None
    summary: list[FeatureSummaryOut] | None = None


class BaselineList(_Out):
    baselines: list[BaselineOut]


class BaselineDeleted(_Out):
    deleted: str


class PinIn(_In):
    """A production window to use as the baseline of a model version (or one device)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    model: str = Field(min_length=1)
    version: str = Field(min_length=1)
    device: str | None = None
    from_: Timestamp = Field(alias="from")
    to: Timestamp

    @model_validator(mode="after")
    def _bounds(self) -> PinIn:
        _bounded(self.from_)
        _bounded(self.to)
        return self


class ProfileOut(_Out):
    model: str
    version: str
    hardware_class: str
    created_at: Timestamp
    latency_mean_s: float
    latency_p50_s: float
    latency_p95_s: float
    latency_p99_s: float
    energy_j: float | None
    energy_source: str | None
    energy_relative_error: float | None
    accuracy: float | None
    report: dict[str, Any] | None = Field(None, description="the whole report, when asked")


class ProfileList(_Out):
    profiles: list[ProfileOut]


class HardwareCompareOut(_Out):
    hardware_class: str
    p95_ratio: float | None
    energy_ratio: float | None
    accuracy_change: float | None


class ProfileCompareOut(_Out):
    model: str
    version: str
    against: str
    summary: str
    hardware_classes: list[HardwareCompareOut]


class GateSignalOut(_Out):
    signal: str
    verdict: str
    estimate: float | None
    lower: float | None
    upper: float | None
    canary_device_hours: float
    reference_device_hours: float
    detail: str


class GateClassOut(_Out):
    hardware_class: str
    verdict: str
    compared_with: str | None
    canary_devices: int
    canary_device_hours: float
    reference_devices: int
    signals: list[GateSignalOut]
    fleet_accuracy: float | None = None
    """The canary's correct share on this class: from labels, or estimated without them."""
    accuracy_source: Literal["labels", "estimated"] | None = None
    notes: list[str] = []
    """Why a signal is absent (a version without calibration) or flagged (covariate shift)."""


class RolloutVerdictOut(_Out):
    model: str
    version: str
    verdict: Literal["pass", "fail", "wait"]
    failed: list[str]
    evaluated_at: Timestamp
    window_s: float
    alpha: float
    test_alpha: float
    method: str
    hardware_classes: list[GateClassOut]
