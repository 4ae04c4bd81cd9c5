"""``/api/v1/silences``: list, create and expire silences (Alertmanager semantics)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from edgewatch.contract import SilenceIn, SilenceList, SilenceOut, utc_now
from edgewatch.server.api import views
from edgewatch.server.api.deps import AdminDep, AlertingDep
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.store import NotFoundError

router = APIRouter(prefix="/api/v1/silences", tags=["silences"], route_class=AdminFirstRoute)


@router.get("", response_model=SilenceList, summary="All silences")
def list_silences(_: AdminDep, service: AlertingDep) -> SilenceList:
    """Every silence with its status now (active, pending or expired)."""
    now = utc_now()
    silences = service.alert_store.silences()
    return SilenceList(silences=[views.silence_view(s, now) for s in silences])


@router.post("", response_model=SilenceOut, status_code=201, summary="Create a silence")
def create_silence(_: AdminDep, service: AlertingDep, body: SilenceIn) -> SilenceOut:
    """Mute matching alerts from ``starts_at`` (default now) until ``ends_at``."""
    now = utc_now()
    starts = body.starts_at or now
    ends = body.ends_at or starts + timedelta(seconds=body.duration_s or 0.0)
    silence = service.engine.add_silence(
        [views.matcher_of(m.name, m.value, m.is_regex, m.is_equal) for m in body.matchers],
        starts_at=starts,
        ends_at=ends,
        created_by=body.created_by,
        comment=body.comment,
        now=now,
    )
    return views.silence_view(silence, now)


@router.delete(
    "/{silence_id}",
    response_model=SilenceOut,
    summary="Expire a silence",
    responses={409: {"description": "the silence has already expired"}},
)
def expire_silence(_: AdminDep, service: AlertingDep, silence_id: str) -> SilenceOut:
    """End a silence now; it stays listed as expired."""
    now = utc_now()
    if service.alert_store.silence(silence_id) is None:
        raise NotFoundError(f"silence {silence_id!r} not found")
    return views.silence_view(service.engine.expire_silence(silence_id, now), now)
