"""``/api/v1/alerts``: current alerts with filters, one alert with evidence, acknowledgement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from edgewatch.contract import AckIn, AlertDetailOut, AlertList, AlertOut, utc_now
from edgewatch.server.api import views
from edgewatch.server.api.deps import AdminDep, AlertingDep, StoreDep
from edgewatch.server.api.routes import AdminFirstRoute

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], route_class=AdminFirstRoute)


@router.get("", response_model=AlertList, summary="Current alerts, newest first")
def list_alerts(
    _: AdminDep,
    service: AlertingDep,
    state: Annotated[Literal["pending", "firing", "resolved"] | None, Query()] = None,
    severity: Annotated[Literal["critical", "warning", "info"] | None, Query()] = None,
    device: Annotated[str | None, Query(description="the label device")] = None,
    model: Annotated[str | None, Query(description="the label model")] = None,
    version: Annotated[str | None, Query(description="the label version")] = None,
    fleet: Annotated[str | None, Query(description="the label fleet")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> AlertList:
    """Alerts filtered by state, severity and the labels device, model, version and fleet."""
    labels = {"device": device, "model": model, "version": version, "fleet": fleet}
    alerts = views.list_alerts(
        service, utc_now(), state=state, severity=severity, labels=labels, limit=limit
    )
    return AlertList(alerts=alerts)


@router.get(
    "/{fingerprint}",
    response_model=AlertDetailOut,
    summary="One alert with its evidence and history",
)
def get_alert(
    _: AdminDep, service: AlertingDep, store: StoreDep, fingerprint: str
) -> AlertDetailOut:
    """The alert, the detector result behind it, its state history and the dashboard link."""
    return views.alert_detail(service, store, fingerprint, utc_now())


@router.post("/{fingerprint}/ack", response_model=AlertOut, summary="Acknowledge an alert")
def ack_alert(_: AdminDep, service: AlertingDep, fingerprint: str, body: AckIn) -> AlertOut:
    """Record who took the alert in hand; answers the alert with its ack."""
    now = utc_now()
    views.find_status(service, fingerprint, now)
    service.engine.acknowledge(fingerprint, author=body.author, comment=body.comment, now=now)
    return views.alert_view(views.find_status(service, fingerprint, now), service.engine.ruleset)
