"""``/api/v1/fleet/summary``: the fleet overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.contract import FleetSummaryOut
from edgewatch.server.api.deps import AdminDep, StoreDep, WindowDep
from edgewatch.server.api.schemas import fleet_summary_out

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])


@router.get("/summary", response_model=FleetSummaryOut, summary="Fleet overview per model version")
def fleet_summary(
    _: AdminDep,
    store: StoreDep,
    time_window: WindowDep,
    fleet: Annotated[str | None, Query()] = None,
) -> FleetSummaryOut:
    """Devices per model version with inference rate, error rate and latency quantiles."""
    return fleet_summary_out(
        store.fleet_summary(start=time_window.start, end=time_window.end, fleet=fleet)
    )
