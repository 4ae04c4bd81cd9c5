"""``/api/v1/silences``: list, create and expire silences (Alertmanager semantics)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from edgewatch.server.api.bounds import MAX_SPAN_S, Instant
from edgewatch.server.api.deps import AdminDep, AlertingDep, utc_now
from edgewatch.server.detect import views
from edgewatch.server.store import NotFoundError

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])


class MatcherIn(BaseModel):
    """Alertmanager's matcher shape."""

    name: str = Field(min_length=1)
    value: str
    is_regex: bool = False
    is_equal: bool = True


class SilenceIn(BaseModel):
    """A new silence: matchers, when (``ends_at`` or ``duration_s``), who and why."""

    matchers: list[MatcherIn] = Field(min_length=1)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    duration_s: float | None = Field(None, gt=0, le=MAX_SPAN_S, allow_inf_nan=False)
    created_by: str
    comment: str

    @model_validator(mode="after")
    def _when(self) -> SilenceIn:
        if (self.ends_at is None) == (self.duration_s is None):
            raise ValueError("give exactly one of ends_at and duration_s")
        return self


@router.get("", summary="All silences")
def list_silences(_: AdminDep, service: AlertingDep) -> dict[str, Any]:
    """Every silence with its status now (active, pending or expired)."""
    now = utc_now()
    silences = service.alert_store.silences()
    return {"silences": [views.silence_view(s, now) for s in silences]}


@router.post("", status_code=201, summary="Create a silence")
def create_silence(_: AdminDep, service: AlertingDep, body: SilenceIn) -> dict[str, Any]:
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


@router.delete("/{silence_id}", summary="Expire a silence")
def expire_silence(_: AdminDep, service: AlertingDep, silence_id: str) -> dict[str, Any]:
    """End a silence now; it stays listed as expired."""
    now = utc_now()
    if service.alert_store.silence(silence_id) is None:
        raise NotFoundError(f"silence {silence_id!r} not found")
    return views.silence_view(service.engine.expire_silence(silence_id, now), now)
