"""Typed FastAPI dependencies: the store, the settings, and who is calling."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from edgewatch.server.alert import format_time, parse_time
from edgewatch.server.alerting import AlertingService
from edgewatch.server.api.auth_limit import AuthFailureLimiter
from edgewatch.server.api.bounds import MAX_UNIX_S, MIN_UNIX_S, check_instant
from edgewatch.server.api.errors import AlertingDisabledError, ForbiddenError, UnauthorizedError
from edgewatch.server.ingest import CardinalityLimiter
from edgewatch.server.metrics import ServerMetrics
from edgewatch.server.settings import Settings
from edgewatch.server.store import (
    AuthThrottledError,
    InvalidQueryError,
    Principal,
    Selection,
    StoreClosedError,
    StoreProtocol,
)

INSECURE_PRINCIPAL = Principal(role="admin", device_id=None, token_id="insecure-dev")


def get_store(request: Request) -> StoreProtocol:
    """The app's open store."""
    store: StoreProtocol | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreClosedError("the store is not open")
    return store


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> ServerMetrics:
    """The app's Prometheus metrics."""
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


def get_limiter(request: Request) -> CardinalityLimiter:
    """The app's series-cardinality limiter."""
    limiter: CardinalityLimiter = request.app.state.limiter
    return limiter


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("Authorization header must be 'Bearer <token>'")
    return token.strip()


def get_auth_limiter(request: Request) -> AuthFailureLimiter:
    """The app's per-source limiter of failed authentications."""
    limiter: AuthFailureLimiter = request.app.state.auth_limiter
    return limiter


def authenticate(request: Request, store: StoreProtocol, settings: Settings) -> Principal:
    """Whoever the bearer token names; ``UnauthorizedError`` without a valid one, and
    ``AuthThrottledError`` (429) for a source over its budget of failed attempts.

    Every failure answers the same message whether the id is unknown, the secret wrong or
    the token revoked, so answers tell nothing about which token ids exist."""
    if settings.insecure_dev:
        return INSECURE_PRINCIPAL
    token = bearer_token(request)
    if token is None:
        raise UnauthorizedError("missing bearer token")
    principal = store.cached_principal(token)
    if principal is not None:
        return principal
    limiter = get_auth_limiter(request)
    source = request.client.host if request.client is not None else ""
    wait_s = limiter.retry_after_s(source)
    if wait_s is not None:
        raise AuthThrottledError("too many failed authentications from this address", wait_s)
    principal = store.verify_token(token)
    if principal is None:
        limiter.record_failure(source)
        raise UnauthorizedError("invalid or revoked token")
    return principal


StoreDep = Annotated[StoreProtocol, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[ServerMetrics, Depends(get_metrics)]
LimiterDep = Annotated[CardinalityLimiter, Depends(get_limiter)]


def admin_principal(request: Request, store: StoreDep, settings: SettingsDep) -> Principal:
    """An admin token's principal; device tokens get 403."""
    principal = authenticate(request, store, settings)
    if principal.role != "admin":
        raise ForbiddenError(
            "the admin API needs an admin token; device tokens may only send metrics"
        )
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]


def selection(
    device_id: Annotated[str | None, Query(description="one device")] = None,
    fleet: Annotated[str | None, Query()] = None,
    model_name: Annotated[str | None, Query()] = None,
    model_version: Annotated[str | None, Query()] = None,
    hardware: Annotated[str | None, Query()] = None,
) -> Selection:
    """Which devices a query covers (unset = all)."""
    return Selection(device_id, fleet, model_name, model_version, hardware)


SelectionDep = Annotated[Selection, Depends(selection)]


@dataclass(frozen=True, slots=True)
class Window:
    """A query's time range in unix seconds."""

    start_s: float
    end_s: float


def _unix_query(description: str) -> Any:
    """A unix-seconds query parameter within the range ``bounds`` supports (422 otherwise)."""
    return Query(ge=MIN_UNIX_S, le=MAX_UNIX_S, allow_inf_nan=False, description=description)


def window(
    start: Annotated[float | None, _unix_query("unix seconds; default end - 1 h")] = None,
    end: Annotated[float | None, _unix_query("unix seconds; default now")] = None,
) -> Window:
    """The query window, validated."""
    end_s = time.time() if end is None else end
    start_s = end_s - 3600.0 if start is None else start
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s <= start_s:
        raise InvalidQueryError(f"end ({end_s}) must be after start ({start_s})")
    return Window(start_s, end_s)


WindowDep = Annotated[Window, Depends(window)]


def attribute_filters(
    attr: Annotated[
        list[str] | None,
        Query(description="point attribute filter 'key=value', repeatable"),
    ] = None,
) -> tuple[tuple[str, str], ...]:
    """``key=value`` pairs every point must carry."""
    pairs = []
    for item in attr or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidQueryError(f"attr {item!r} must look like key=value")
        pairs.append((key, value))
    return tuple(pairs)


AttributesDep = Annotated[tuple[tuple[str, str], ...], Depends(attribute_filters)]


def get_alerting(request: Request) -> AlertingService:
    """The app's alerting service (503 when the server runs without alerting)."""
    service: AlertingService | None = getattr(request.app.state, "alerting", None)
    if service is None:
        raise AlertingDisabledError("alerting is not running on this server")
    return service


AlertingDep = Annotated[AlertingService, Depends(get_alerting)]


def utc_now() -> datetime:
    """The request's notion of now (UTC)."""
    return datetime.now(UTC)


def _time(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = parse_time(text)
    except ValueError:
        raise InvalidQueryError(
            f"{name} {text!r} must be an RFC 3339 time with a zone, e.g. 2026-01-31T12:00:00Z"
        ) from None
    try:
        return check_instant(name, at)
    except ValueError as e:
        raise InvalidQueryError(str(e)) from None


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A query's time range as aware datetimes."""

    start: datetime
    end: datetime


def time_range(
    from_: Annotated[
        str | None, Query(alias="from", description="RFC 3339; default to - 24 h")
    ] = None,
    to: Annotated[str | None, Query(description="RFC 3339; default now")] = None,
) -> TimeRange:
    """``from``/``to`` validated, defaulting to the last 24 hours."""
    end = _time("to", to) or utc_now()
    start = _time("from", from_) or end - timedelta(days=1)
    if end <= start:
        raise InvalidQueryError(
            f"to ({format_time(end)}) must be after from ({format_time(start)})"
        )
    return TimeRange(start, end)


TimeRangeDep = Annotated[TimeRange, Depends(time_range)]
