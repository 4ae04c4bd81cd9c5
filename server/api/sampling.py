"""``/api/v1/devices/{id}/config`` (what a device polls) and ``/api/v1/devices/{id}/sampling``.

A device token reads its own config only; operators (admin token) read any and set budgets:
lasting (``enabled``, ``rows_per_hour``, ``bytes_per_day``) or raised for ``for_s`` seconds.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from edgewatch.collector import semconv
from edgewatch.contract import DeviceConfigOut, SamplingIn, SamplingOut
from edgewatch.server.api.deps import AdminDep, SettingsDep, StoreDep, authenticate
from edgewatch.server.api.errors import ForbiddenError
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.store import InvalidQueryError, SamplingSetting

router = APIRouter(tags=["sampling"], route_class=AdminFirstRoute)
CONFIG_POLL_INTERVAL_S = 300.0


def sampling_out(s: SamplingSetting) -> SamplingOut:
    """The budget in force as the contract's ``SamplingOut``."""
    return SamplingOut(
        enabled=s.enabled,
        rows_per_hour=s.rows_per_hour,
        bytes_per_day=s.bytes_per_day,
        expires_at=s.expires_at,
        expires_at_unix=None if s.expires_at is None else s.expires_at.timestamp(),
        reason=s.reason,
    )


@router.get(
    semconv.CONFIG_PATH,
    response_model=DeviceConfigOut,
    summary="A device's configuration (its sampling budget); device token or admin",
    responses={401: {}, 403: {}, 429: {}, 503: {}},
)
def device_config(
    request: Request, store: StoreDep, settings: SettingsDep, device_id: str
) -> DeviceConfigOut:
    """The sampling budget in force for the device, as its collector polls it."""
    principal = authenticate(request, store, settings)
    if principal.role != "admin" and principal.device_id != device_id:
        raise ForbiddenError(
            f"token of device {principal.device_id!r} cannot read the config of {device_id!r}"
        )
    return DeviceConfigOut(
        device_id=device_id,
        sampling=sampling_out(store.samples.setting(device_id)),
        poll_interval_s=CONFIG_POLL_INTERVAL_S,
    )


@router.put(
    "/api/v1/devices/{device_id}/sampling",
    response_model=SamplingOut,
    summary="Set a device's sampling budget, or raise it for a time (admin)",
)
def set_sampling(_: AdminDep, store: StoreDep, device_id: str, body: SamplingIn) -> SamplingOut:
    """Without ``for_s`` the budget lasts; with it, ``rows_per_hour`` holds for ``for_s`` seconds."""
    if body.for_s is None:
        setting = store.samples.set_base(
            device_id,
            enabled=body.enabled,
            rows_per_hour=body.rows_per_hour,
            bytes_per_day=body.bytes_per_day,
        )
        return sampling_out(setting)
    if body.rows_per_hour is None:
        raise InvalidQueryError("a raise (for_s) needs rows_per_hour")
    (setting,) = store.samples.raise_budget(
        [device_id],
        rows_per_hour=body.rows_per_hour,
        bytes_per_day=body.bytes_per_day,
        for_s=body.for_s,
        reason=body.reason,
    )
    return sampling_out(setting)
