"""``/api/v1/rules``, ``/api/v1/receivers`` and ``/api/v1/deliveries``: what alerting runs
and what it sent. Nothing here shows a receiver URL path or secret."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from edgewatch.contract import (
    DeliveryDetailOut,
    DeliveryList,
    ProblemsOut,
    ReceiverList,
    ReloadOut,
    RuleList,
)
from edgewatch.server.alert import DeliveryState
from edgewatch.server.api import views
from edgewatch.server.api.deps import AdminDep, AlertingDep
from edgewatch.server.store import NotFoundError

router = APIRouter(prefix="/api/v1", tags=["rules"])


@router.get("/rules", response_model=RuleList, summary="Rules in force with their last evaluation")
def list_rules(_: AdminDep, service: AlertingDep) -> RuleList:
    """Each rule's detector, severity, scope, interval, ``for``, last evaluation and error."""
    return RuleList(rules=views.rules_view(service))


@router.post(
    "/rules/reload",
    summary="Reload the rules file",
    response_model=ReloadOut,
    responses={422: {"model": ProblemsOut, "description": "the file has errors; old rules kept"}},
)
def reload_rules(_: AdminDep, service: AlertingDep) -> ReloadOut | JSONResponse:
    """Read the rules file again; on errors keep the rules in force and answer 422."""
    result = service.reload()
    if not result.ok:
        return JSONResponse({"errors": list(result.errors)}, status_code=422)
    return ReloadOut(ok=True, rules=len(result.ruleset.rules))


@router.get("/receivers", response_model=ReceiverList, summary="Receivers with delivery counts")
def list_receivers(_: AdminDep, service: AlertingDep) -> ReceiverList:
    """Each receiver's type, host, delivered/pending/failed/dead counts, last success/error."""
    return ReceiverList(receivers=views.receivers_view(service))


@router.get("/deliveries", response_model=DeliveryList, summary="Notification deliveries")
def list_deliveries(
    _: AdminDep,
    service: AlertingDep,
    status: Annotated[
        Literal["pending", "delivered", "failed", "dead", "superseded"] | None, Query()
    ] = None,
    receiver: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> DeliveryList:
    """Deliveries newest first, with attempts, last status code and error (never the body)."""
    state = None if status is None else DeliveryState(status)
    found = service.queue.deliveries(state=state, receiver=receiver)
    found.reverse()
    return DeliveryList(deliveries=[views.delivery_view(d) for d in found[:limit]])


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetailOut,
    summary="One delivery with every attempt",
)
def get_delivery(_: AdminDep, service: AlertingDep, delivery_id: str) -> DeliveryDetailOut:
    """The delivery and each attempt: time, outcome, status code, error, duration."""
    delivery = service.queue.get(delivery_id)
    if delivery is None:
        raise NotFoundError(f"delivery {delivery_id!r} not found")
    return views.delivery_detail(delivery)
