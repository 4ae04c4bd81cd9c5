"""Typed FastAPI dependencies: the store, the settings, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from edgewatch.contract import format_rfc3339, parse_instant, utc_now
from edgewatch.server.alerting import AlertingService
from edgewatch.server.api.auth_limit import AuthFailureLimiter
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


def _one(new: str, value: str | None, old: str, legacy: str | None) -> str | None:
    """A parameter given by its name or by its deprecated alias, not both."""
    if value is not None and legacy is not None and value != legacy:
        raise InvalidQueryError(f"give {new} or its deprecated alias {old}, not both")
    return value if value is not None else legacy


def _deprecated(new: str) -> Any:
    return Query(deprecated=True, description=f"deprecated alias of {new}; removed next release")


def selection(
    device: Annotated[str | None, Query(description="one device (the alert label device)")] = None,
    fleet: Annotated[str | None, Query(description="one fleet")] = None,
    model: Annotated[str | None, Query(description="one model name")] = None,
    version: Annotated[str | None, Query(description="one model version")] = None,
    hardware: Annotated[str | None, Query(description="one hardware class")] = None,
    device_id: Annotated[str | None, _deprecated("device")] = None,
    model_name: Annotated[str | None, _deprecated("model")] = None,
    model_version: Annotated[str | None, _deprecated("version")] = None,
) -> Selection:
    """Which devices a query covers, in the alert labels' vocabulary (unset = all)."""
    return Selection(
        _one("device", device, "device_id", device_id),
        fleet,
        _one("model", model, "model_name", model_name),
        _one("version", version, "model_version", model_version),
        hardware,
    )


SelectionDep = Annotated[Selection, Depends(selection)]


@dataclass(frozen=True, slots=True)
class Window:
    """A query's time range: aware UTC datetimes, ``end`` after ``start``."""

    start: datetime
    end: datetime


def _instant(name: str, text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_instant(text)
    except ValueError as e:
        raise InvalidQueryError(f"{name}: {e}") from None


_TIME = "RFC 3339 (2026-01-31T12:00:00Z) or unix seconds"
_To = Annotated[str | None, Query(description=f"{_TIME}; default now")]
_Start = Annotated[str | None, _deprecated("from")]
_End = Annotated[str | None, _deprecated("to")]


def _window(
    from_: str | None, to: str | None, start: str | None, end: str | None, span: timedelta
) -> Window:
    """``from``/``to`` (or the deprecated ``start``/``end``) in either time format, ``to``
    defaulting to now and ``from`` to ``to - span``."""
    stop = _instant("end" if to is None else "to", _one("to", to, "end", end)) or utc_now()
    begin = _instant("start" if from_ is None else "from", _one("from", from_, "start", start)) or (
        stop - span
    )
    if stop <= begin:
        raise InvalidQueryError(
            f"to ({format_rfc3339(stop)}) must be after from ({format_rfc3339(begin)})"
        )
    return Window(begin, stop)


def hour_window(
    from_: Annotated[
        str | None, Query(alias="from", description=f"{_TIME}; default to - 1 h")
    ] = None,
    to: _To = None,
    start: _Start = None,
    end: _End = None,
) -> Window:
    """The query window, defaulting to the last hour."""
    return _window(from_, to, start, end, timedelta(hours=1))


def day_window(
    from_: Annotated[
        str | None, Query(alias="from", description=f"{_TIME}; default to - 24 h")
    ] = None,
    to: _To = None,
    start: _Start = None,
    end: _End = None,
) -> Window:
    """The query window, defaulting to the last 24 hours."""
    return _window(from_, to, start, end, timedelta(days=1))


WindowDep = Annotated[Window, Depends(hour_window)]
"""A window defaulting to the last hour (series, distributions, the fleet summary)."""
DayWindowDep = Annotated[Window, Depends(day_window)]
"""A window defaulting to the last 24 hours (drift results, comparisons, reports)."""


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
