"""``/api/v1/devices``: the device registry."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from edgewatch.contract import DeviceDetail, DeviceList, utc_now
from edgewatch.server.api.bounds import MAX_OFFSET, MAX_SPAN_S
from edgewatch.server.api.deps import AdminDep, SelectionDep, StoreDep
from edgewatch.server.api.schemas import device_detail, device_out
from edgewatch.server.store import DeviceStatus

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.get("", response_model=DeviceList, summary="List devices with filters")
def list_devices(
    _: AdminDep,
    store: StoreDep,
    selection: SelectionDep,
    status: Annotated[Literal["online", "stale", "offline"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DeviceList:
    """Devices by id, filtered by fleet, model, version, hardware and liveness."""
    devices = store.list_devices(
        selection,
        status=None if status is None else DeviceStatus(status),
        limit=limit,
        offset=offset,
    )
    return DeviceList(devices=[device_out(d) for d in devices], count=len(devices))


@router.get("/{device_id}", response_model=DeviceDetail, summary="One device with latest readings")
def get_device(
    _: AdminDep,
    store: StoreDep,
    device_id: str,
    readings_since_s: Annotated[
        float,
        Query(gt=0, le=MAX_SPAN_S, allow_inf_nan=False, description="look-back for readings"),
    ] = 86_400.0,
) -> DeviceDetail:
    """Registry entry, clock skew, the newest value of every gauge it sent and what it lost."""
    device = store.get_device(device_id)
    readings = store.latest_readings(
        device_id, since=utc_now() - timedelta(seconds=readings_since_s)
    )
    drops = store.device_drops(device_id)
    return device_detail(device, readings, drops)
