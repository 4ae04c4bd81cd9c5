"""The alerting API's answers (alerts, silences, rules, receivers, deliveries, drift results,
baselines) built from the engine, the queue and the store as ``edgewatch.contract`` bodies.

Nothing here carries a receiver URL or secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from edgewatch.contract import (
    AckOut,
    AlertDetailOut,
    AlertOut,
    AttemptOut,
    BaselineBriefOut,
    BaselineOut,
    DeliveryDetailOut,
    DeliveryOut,
    DriftRowOut,
    EvidenceOut,
    FeatureSummaryOut,
    HistoryOut,
    MatcherOut,
    ReceiverOut,
    RuleOut,
    ScopeOut,
    SilenceOut,
    WindowOut,
)
from edgewatch.detectors import DRIFT_METHODS
from edgewatch.server.alert import (
    AlertStatus,
    Delivery,
    DeliveryState,
    Matcher,
    MatchOp,
    Outcome,
    RuleSet,
    Silence,
)
from edgewatch.server.alerting import AlertingService
from edgewatch.server.detect import PROFILE_BASELINE
from edgewatch.server.evidence import drift_rule_names, report_path_for_alert
from edgewatch.server.store import (
    BaselineInfo,
    EvaluationRow,
    NotFoundError,
    StoreProtocol,
)

DRIFT_DETECTORS = frozenset({*DRIFT_METHODS, "auto", "drift_fdr"})


def _annotations(status: AlertStatus, rules: RuleSet | None) -> dict[str, str]:
    """The alert's annotations, with ``summary`` and ``description`` always present (from
    the rule's name and description when its annotations leave them out)."""
    a = status.alert
    out = dict(a.annotations)
    description = ""
    if rules is not None:
        try:
            description = rules.rule(a.rule).description
        except KeyError:
            description = ""  # the rule was removed by a reload; its alerts age out
    out.setdefault("summary", a.rule)
    out.setdefault("description", description)
    return out


def alert_view(status: AlertStatus, rules: RuleSet | None = None) -> AlertOut:
    """One alert as the contract's ``AlertOut``."""
    a = status.alert
    ack = status.ack
    return AlertOut(
        fingerprint=a.fingerprint,
        rule=a.rule,
        state=a.state.value,
        severity=a.severity,
        labels=dict(a.labels),
        annotations=_annotations(status, rules),
        value=a.value,
        active_at=a.active_at,
        fired_at=a.fired_at,
        resolved_at=a.resolved_at,
        last_evaluated_at=a.last_evaluated_at,
        ack=None if ack is None else AckOut(author=ack.author, comment=ack.comment, at=ack.at),
        silenced_by=list(status.silenced_by),
        inhibited=status.inhibited_by is not None,
    )


def list_alerts(
    service: AlertingService,
    now: datetime,
    *,
    state: str | None = None,
    severity: str | None = None,
    labels: dict[str, str | None],
    limit: int = 200,
) -> list[AlertOut]:
    """Current alerts filtered by state, severity and labels, newest first."""
    out = []
    for status in service.engine.statuses(now):
        a = status.alert
        if state is not None and a.state.value != state:
            continue
        if severity is not None and a.severity != severity:
            continue
        if any(v is not None and a.labels.get(k) != v for k, v in labels.items()):
            continue
        out.append(status)
    out.sort(key=lambda s: (s.alert.active_at, s.alert.fingerprint), reverse=True)
    rules = service.engine.ruleset
    return [alert_view(s, rules) for s in out[:limit]]


def find_status(service: AlertingService, fingerprint: str, now: datetime) -> AlertStatus:
    """The current alert with ``fingerprint`` (``NotFoundError`` otherwise)."""
    for status in service.engine.statuses(now):
        if status.alert.fingerprint == fingerprint:
            return status
    raise NotFoundError(f"no current alert with fingerprint {fingerprint!r}")


def _window(start: datetime | None, end: datetime | None) -> WindowOut | None:
    return None if start is None or end is None else WindowOut(from_=start, to=end)


def _baseline_brief(info: BaselineInfo) -> BaselineBriefOut:
    return BaselineBriefOut(
        id=info.id,
        source=info.source,
        created_at=info.created_at,
        rows=info.rows,
        window=_window(info.window_start, info.window_end),
    )


def alert_detail(
    service: AlertingService, store: StoreProtocol, fingerprint: str, now: datetime
) -> AlertDetailOut:
    """An alert with its evidence (the latest detector result for it), history and link."""
    status = find_status(service, fingerprint, now)
    alert = status.alert
    labels = alert.labels
    rows = store.evaluations.query(
        start=alert.active_at,
        end=now,
        rule=alert.rule,
        device_id=labels.get("device"),
        model_version=labels.get("version"),
        feature=labels.get("feature"),
    )
    matching = [r for r in rows if r.model_name == labels.get("model")]
    evidence = None
    if matching:
        r = matching[-1]
        baseline = None
        if r.baseline_id is not None and r.baseline_id.startswith(PROFILE_BASELINE):
            profile = r.baseline_id.removeprefix(PROFILE_BASELINE)
            baseline = BaselineBriefOut(id=r.baseline_id, profile=profile, source="profile")
        elif r.baseline_id is not None:
            try:
                baseline = _baseline_brief(store.baselines.get(r.baseline_id))
            except NotFoundError:
                baseline = BaselineBriefOut(id=r.baseline_id, deleted=True)
        evidence = EvidenceOut(
            detector=r.detector,
            method=r.method,
            score=r.score,
            threshold=r.threshold,
            verdict=r.verdict,
            explanation=r.explanation,
            window=WindowOut(from_=r.window_start, to=r.window_end),
            baseline=baseline,
        )
    history = [
        HistoryOut(state="inactive" if t.to_state is None else t.to_state.value, at=t.at)
        for t in service.alert_store.history(fingerprint=fingerprint)
    ]
    base = service.engine.ruleset.external_url
    report_url = None
    if alert.rule in drift_rule_names(service.engine.ruleset.rules):
        start = matching[-1].window_start if matching else alert.active_at - timedelta(hours=1)
        report_url = report_path_for_alert(labels, start.timestamp(), now.timestamp())
    return AlertDetailOut(
        **dict(alert_view(status, service.engine.ruleset)),
        evidence=evidence,
        history=history,
        dashboard_url=f"{base}/alerts/{quote(fingerprint)}" if base else None,
        report_url=report_url,
    )


def silence_view(silence: Silence, now: datetime) -> SilenceOut:
    """A silence as the contract's ``SilenceOut``."""
    return SilenceOut(
        id=silence.id,
        matchers=[matcher_view(m) for m in silence.matchers],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
        status=silence.state(now).value,
    )


def matcher_view(m: Matcher) -> MatcherOut:
    """Alertmanager's matcher shape."""
    return MatcherOut(
        name=m.name,
        value=m.value,
        is_regex=m.op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
        is_equal=m.op in (MatchOp.EQUAL, MatchOp.REGEX),
    )


def matcher_of(name: str, value: str, is_regex: bool, is_equal: bool) -> Matcher:
    """A matcher from Alertmanager's shape."""
    op = {
        (False, True): MatchOp.EQUAL,
        (False, False): MatchOp.NOT_EQUAL,
        (True, True): MatchOp.REGEX,
        (True, False): MatchOp.NOT_REGEX,
    }[(is_regex, is_equal)]
    return Matcher(name, op, value)


def delivery_view(d: Delivery) -> DeliveryOut:
    """A delivery without its body."""
    last = d.attempts[-1] if d.attempts else None
    return DeliveryOut(
        id=d.id,
        receiver=d.receiver,
        notification_id=d.id,
        status=d.state.value,
        attempts=len(d.attempts),
        last_status_code=None if last is None else last.status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at if d.state is DeliveryState.PENDING else None,
    )


def delivery_detail(d: Delivery) -> DeliveryDetailOut:
    """A delivery with every attempt: time, outcome, status code, error, duration."""
    return DeliveryDetailOut(
        **dict(delivery_view(d)),
        history=[
            AttemptOut(
                at=a.at,
                outcome=a.outcome.value,
                status_code=a.status_code,
                error=a.error,
                duration_s=a.duration_s,
                retry_after_s=a.retry_after_s,
            )
            for a in d.attempts
        ],
    )


def receivers_view(service: AlertingService) -> list[ReceiverOut]:
    """Each configured receiver with its delivery counts, last success and last error."""
    out = []
    for config in service.engine.ruleset.receivers:
        items = service.queue.deliveries(receiver=config.name)
        counts = {s: 0 for s in ("delivered", "pending", "failed", "dead")}
        for d in items:
            if d.state.value in counts:
                counts[d.state.value] += 1
        successes = [a.at for d in items for a in d.attempts if a.outcome is Outcome.DELIVERED]
        errors = [d for d in items if d.last_error is not None]
        parts = urlsplit(config.url)
        host = parts.hostname or ""
        out.append(
            ReceiverOut(
                name=config.name,
                type=config.kind.value,
                endpoint_host=f"{host}:{parts.port}" if parts.port else host,
                **counts,
                last_success_at=max(successes) if successes else None,
                last_error=errors[-1].last_error if errors else None,
            )
        )
    return out


def rules_view(service: AlertingService) -> list[RuleOut]:
    """Each rule with its last evaluation time and error."""
    runs = service.alert_store.rule_runs()
    out = []
    for rule in service.engine.ruleset.rules:
        last, error, skipped = runs.get(rule.name, (None, None, 0))
        out.append(
            RuleOut(
                name=rule.name,
                detector=rule.detector,
                severity=rule.severity.value,
                scope=ScopeOut(
                    level=rule.scope.level.value,
                    matchers=[str(m) for m in rule.scope.matchers],
                ),
                interval_s=rule.interval_s,
                for_s=rule.for_s,
                last_evaluated_at=last,
                last_error=error,
                skipped_evaluations=skipped,
            )
        )
    return out


def drift_view(rows: Sequence[EvaluationRow]) -> list[DriftRowOut]:
    """Drift results (drift-method rules only) as the contract's rows."""
    return [
        DriftRowOut(
            window_start=r.window_start,
            window_end=r.window_end,
            scope=r.scope,
            device=r.device_id,
            model=r.model_name,
            version=r.model_version,
            feature=r.feature,
            rule=r.rule,
            method=r.method,
            score=r.score,
            threshold=r.threshold,
            verdict=r.verdict,
        )
        for r in rows
        if r.detector in DRIFT_DETECTORS
    ]


def baseline_view(info: BaselineInfo, *, summary: bool = False) -> BaselineOut:
    """A baseline; with ``summary`` its per-feature count, mean, p50, p95 and missing."""
    return BaselineOut(
        id=info.id,
        model=info.model_name,
        version=info.model_version,
        device=info.device_id,
        source=info.source,
        created_at=info.created_at,
        rows=info.rows,
        features=list(info.features),
        window=_window(info.window_start, info.window_end),
        summary=[
            FeatureSummaryOut(
                feature=p.name,
                kind=p.kind,
                count=p.count,
                mean=p.mean,
                p50=p.p50,
                p95=p.p95,
                missing=p.missing,
            )
            for p in info.profiles
        ]
        if summary
        else None,
    )
