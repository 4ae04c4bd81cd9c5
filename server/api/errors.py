"""Every domain error → HTTP status in one place, for the REST API and for OTLP ingest."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence

import duckdb
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from edgewatch.server.alert import AckError, MatcherError, SilenceError, SilenceExpiredError
from edgewatch.server.detect import BaselineUploadError
from edgewatch.server.ingest import (
    DecodeError,
    Encoding,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    encode_status,
)
from edgewatch.server.store import (
    AuthThrottledError,
    InvalidQueryError,
    NotFoundError,
    StoreBusyError,
    StoreError,
)

log = logging.getLogger("edgewatch.server.api")
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


class UnauthorizedError(Exception):
    """No token, or a token that is unknown, wrong or revoked (401)."""


class AlertingDisabledError(Exception):
    """The server runs without alerting (``alerting: false``), so this endpoint has no data (503)."""


class ForbiddenError(Exception):
    """A valid token that may not do this (403): device tokens on the admin API, or writing
    another device's data."""


# (HTTP status, google.rpc code) per error type; the first matching base class wins.
_STATUS: tuple[tuple[type[Exception], int, int], ...] = (
    (DecodeError, 400, 3),
    (InvalidQueryError, 400, 3),
    (PayloadTooLargeError, 413, 8),
    (UnsupportedMediaTypeError, 415, 3),
    (UnauthorizedError, 401, 16),
    (AuthThrottledError, 429, 8),
    (ForbiddenError, 403, 7),
    (NotFoundError, 404, 5),
    (SilenceExpiredError, 409, 9),
    (SilenceError, 422, 3),
    (AckError, 422, 3),
    (MatcherError, 422, 3),
    (AlertingDisabledError, 503, 14),
    (StoreBusyError, 503, 14),
    (StoreError, 503, 14),
)
_TRANSIENT = (duckdb.IOException, duckdb.TransactionException, duckdb.OutOfMemoryException)
"""Storage failures a retry can fix (503); any other DuckDB error is a server fault (500)."""


def _storage_fault(exc: Exception) -> bool:
    """A ``StoreError`` translated from a DuckDB error that retrying will not fix."""
    cause = exc.__cause__
    return (
        type(exc) is StoreError
        and isinstance(cause, duckdb.Error)
        and not isinstance(cause, _TRANSIENT)
    )


def status_of(exc: Exception) -> tuple[int, int]:
    """HTTP status and google.rpc code of a domain error."""
    if _storage_fault(exc):
        return 500, 13
    for kind, http, rpc in _STATUS:
        if isinstance(exc, kind):
            return http, rpc
    raise TypeError(f"not a domain error: {exc!r}")


def _headers(exc: Exception, http: int, retry_after_s: float) -> dict[str, str]:
    if http == 401:
        return {"WWW-Authenticate": "Bearer"}
    # alerting switched off is a 503 (the dashboard reads it so) that no retry fixes
    if http in (429, 503) and not isinstance(exc, AlertingDisabledError):
        wait = (
            exc.retry_after_s
            if isinstance(exc, StoreBusyError | AuthThrottledError)
            else retry_after_s
        )
        return {"Retry-After": str(max(1, math.ceil(wait)))}
    return {}


def message_of(exc: Exception) -> str:
    """What a client is told: the error's text, except for storage failures, whose text
    (DuckDB's, naming tables and values) is logged here and replaced by a generic line."""
    if type(exc) is not StoreError or exc.__cause__ is None:
        return str(exc)
    log.error("storage failure answered to a client: %s", exc, exc_info=exc)
    return "storage error: the server logged the details"


def otlp_error(exc: Exception, encoding: Encoding, *, retry_after_s: float) -> Response:
    """An OTLP/HTTP error answer: ``google.rpc.Status`` encoded like the request."""
    http, rpc = status_of(exc)
    return Response(
        encode_status(rpc, message_of(exc), encoding),
        status_code=http,
        media_type=encoding.value,
        headers=_headers(exc, http, retry_after_s),
    )


DOMAIN_ERRORS = tuple(kind for kind, _, _ in _STATUS)


def _json_safe(value: object) -> object:
    """``value`` as JSON can carry it: a NaN, an infinity or anything unencodable becomes
    its ``repr`` (a 422 naming ``NaN`` must not itself fail to encode into a 500)."""
    try:
        encoded = jsonable_encoder(value)
        json.dumps(encoded, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return encoded


async def _validation_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 body (``loc``, ``msg``, ``type``, ``input``), safe for any input."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "type": e.get("type"),
            "loc": list(e.get("loc", ())),
            "msg": e.get("msg"),
            **({"input": _json_safe(e["input"])} if "input" in e else {}),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def _method_not_allowed(routes: Sequence[APIRoute]) -> ExceptionHandler:
    """Starlette's own HTTP answers, with a 405's ``Allow`` naming every method the path has
    (routing stops at the first route whose path matches, and names that route's only).

    As in OpenAPI, a concrete path is the resource before a templated one that also matches
    it: ``/api/v1/baselines/pin`` allows POST only, not the methods of ``/{baseline_id}``."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        path = request.url.path
        matching = [r for r in routes if r.path_regex.match(path)]
        resource = [r for r in matching if not r.param_convertors] or matching
        allowed = sorted({m for r in resource for m in r.methods or ()})
        return JSONResponse(
            {"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(allowed)}
        )

    return handler


def install(app: FastAPI, routers: Iterable[APIRouter], *, retry_after_s: float) -> None:
    """Answer domain errors raised by REST routes as ``{"detail": message}`` JSON, and a
    405 with every allowed method of the path."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    async def handler(request: Request, exc: Exception) -> Response:
        http, _ = status_of(exc)
        return JSONResponse(
            {"detail": message_of(exc)},
            status_code=http,
            headers=_headers(exc, http, retry_after_s),
        )

    async def upload_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BaselineUploadError)
        return JSONResponse({"errors": [p.to_dict() for p in exc.problems]}, status_code=422)

    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _method_not_allowed(routes))
    for kind in (
        InvalidQueryError,
        UnauthorizedError,
        AuthThrottledError,
        ForbiddenError,
        NotFoundError,
        StoreError,
        SilenceError,
        AckError,
        MatcherError,
        AlertingDisabledError,
        PayloadTooLargeError,
    ):
        app.add_exception_handler(kind, handler)
    app.add_exception_handler(BaselineUploadError, upload_handler)
