"""``/api/v1/alerts``: current alerts with filters, one alert with evidence, acknowledgement."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from edgewatch.server.api.deps import AdminDep, AlertingDep, StoreDep, utc_now
from edgewatch.server.detect import views

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AckIn(BaseModel):
    """Who takes the alert in hand, and why."""

    author: str = Field(min_length=1, max_length=200)
    comment: str = Field("", max_length=2000)


@router.get("", summary="Current alerts, newest first")
def list_alerts(
    _: AdminDep,
    service: AlertingDep,
    state: Annotated[Literal["pending", "firing", "resolved"] | None, Query()] = None,
    severity: Annotated[Literal["critical", "warning", "info"] | None, Query()] = None,
    device: Annotated[str | None, Query()] = None,
    model: Annotated[str | None, Query()] = None,
    version: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> dict[str, Any]:
    """Alerts filtered by state, severity, device, model and version."""
    alerts = views.list_alerts(
        service,
        utc_now(),
        state=state,
        severity=severity,
        device=device,
        model=model,
        version=version,
        limit=limit,
    )
    return {"alerts": alerts}


@router.get("/{fingerprint}", summary="One alert with its evidence and history")
def get_alert(
    _: AdminDep, service: AlertingDep, store: StoreDep, fingerprint: str
) -> dict[str, Any]:
    """The alert, the detector result behind it, its state history and the dashboard link."""
    return views.alert_detail(service, store, fingerprint, utc_now())


@router.post("/{fingerprint}/ack", summary="Acknowledge an alert")
def ack_alert(_: AdminDep, service: AlertingDep, fingerprint: str, body: AckIn) -> dict[str, Any]:
    """Record who took the alert in hand; answers the alert with its ack."""
    now = utc_now()
    views.find_status(service, fingerprint, now)
    service.engine.acknowledge(fingerprint, author=body.author, comment=body.comment, now=now)
    return views.alert_view(views.find_status(service, fingerprint, now), service.engine.ruleset)
