"""``POST /v1/metrics``: OTLP/HTTP metrics export, answered per the OTLP/HTTP spec."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from edgewatch.collector import semconv
from edgewatch.server.api.deps import (
    INSECURE_PRINCIPAL,
    MetricsDep,
    SettingsDep,
    StoreDep,
    authenticate,
    bearer_token,
    get_limiter,
    get_metrics,
    get_settings,
    get_store,
)
from edgewatch.server.api.errors import (
    DOMAIN_ERRORS,
    ForbiddenError,
    UnauthorizedError,
    otlp_error,
    status_of,
)
from edgewatch.server.ingest import (
    Converted,
    DecodeError,
    Encoding,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    check_content_encoding,
    convert,
    convert_logs,
    decode_into,
    decode_request,
    encode_logs_response,
    encode_response,
    encoding_of,
    gunzip,
    logs_device_ids,
    resource_device_ids,
)
from edgewatch.server.metrics import ServerMetrics
from edgewatch.server.settings import Settings
from edgewatch.server.store import Batch, Principal, StoreError, StoreProtocol, WriteOutcome

T = TypeVar("T")
router = APIRouter(tags=["ingest"])
_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_OUTCOME = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "bad_request",
    413: "too_large",
    415: "unsupported",
    429: "throttled",
    500: "error",
    503: "unavailable",
}


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body, chunked or not, refusing more than ``max_bytes`` while it streams in."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"body of {declared} bytes exceeds {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(f"body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _known_principal(
    request: Request, store: StoreProtocol, settings: Settings
) -> Principal | None:
    """The caller when that needs no database or scrypt (dev mode, a recently verified
    token); ``None`` when the token must be verified in full."""
    if settings.insecure_dev:
        return INSECURE_PRINCIPAL
    token = bearer_token(request)
    if token is None:
        raise UnauthorizedError("missing bearer token")
    return store.cached_principal(token)


def _answer_encoding(request: Request) -> Encoding:
    """How to encode the answer: like the request when the server reads its Content-Type,
    else as JSON (so a 401 or 415 to an unreadable request still carries a Status)."""
    try:
        return encoding_of(request.headers.get("content-type"))
    except UnsupportedMediaTypeError:
        return Encoding.JSON


async def _receive(
    request: Request, store: StoreProtocol, settings: Settings
) -> tuple[Principal, bytes, bool, str | None]:
    """Authenticate, then check the Content-Type and read the body within the cap, check
    the Idempotency-Key; whether the body is gzipped (it is decompressed off the event loop,
    with the decoding). Authentication comes first: a caller without a valid token learns
    nothing about what the server would read (401, not 415)."""
    known = _known_principal(request, store, settings)
    # verifying an uncached token reads the database: off the event loop
    principal: Principal = (
        known
        if known is not None
        else await run_in_threadpool(authenticate, request, store, settings)
    )
    encoding_of(request.headers.get("content-type"))
    gzipped = check_content_encoding(request.headers.get("content-encoding"))
    body = await _read_body(request, settings.max_body_bytes)
    key = request.headers.get(semconv.IDEMPOTENCY_KEY_HEADER)
    if key is not None and not _KEY.match(key):
        raise DecodeError("Idempotency-Key must be 1-128 printable ASCII characters")
    return principal, body, gzipped, key


async def _off_loop(request: Request, fn: Callable[[], T]) -> T:
    """``fn()`` on the app's decode thread, so the event loop goes on answering (health
    probes, other connections) while a request's body is decompressed, decoded and checked.

    One thread: the work holds the GIL and would not go faster on more, and one thread
    gives the event loop a turn at every switch interval (5 ms) instead of waiting behind
    every ready request's decoding in turn."""
    executor: Executor = request.app.state.decode_executor
    return await asyncio.get_running_loop().run_in_executor(executor, fn)


def _token_device(principal: Principal) -> str | None:
    """The device a device token names: a resource without ``device.id`` is that device's."""
    return principal.device_id if principal.role == "device" else None


def _check_devices(principal: Principal, devices: list[str | None]) -> None:
    """A device token may write only its own device."""
    if principal.role == "device":
        for device in devices:
            if device is not None and device != principal.device_id:
                raise ForbiddenError(
                    f"token of device {principal.device_id!r} cannot write device {device!r}"
                )


async def _commit(store: StoreProtocol, settings: Settings, batch: Batch) -> WriteOutcome:
    """Hand the batch to the writer and wait for its commit (or find it a duplicate)."""
    if not (batch.devices or batch.point_count):
        return WriteOutcome.STORED
    future = store.submit(batch)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout=settings.write_timeout_s)
    except TimeoutError:
        raise StoreError("the writer did not commit in time; resend later") from None


def _otlp(request: str, response: str) -> dict[str, Any]:
    """OpenAPI of an OTLP/HTTP export: the request and answer as protobuf or OTLP JSON, and
    each error status with its ``google.rpc.Status`` body encoded like the request."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    both = {
        "application/x-protobuf": binary,
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
    }
    status = {
        "application/x-protobuf": binary,
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
    }
    errors = {
        400: "the body does not decode, or a point is invalid",
        401: "no device token, or an unknown, wrong or revoked one",
        403: "the token may not write this device's data",
        413: "the body (or its gunzipped form) exceeds max_body_bytes",
        415: "Content-Type is neither application/x-protobuf nor application/json",
        429: "too many failed authentications from this address; see Retry-After",
        503: "the store is busy or closed; retry after Retry-After",
    }
    return {
        "requestBody": {
            "required": True,
            "description": f"an OTLP {request} (Content-Encoding: gzip allowed)",
            "content": both,
        },
        "responses": {
            "200": {"description": f"an OTLP {response}", "content": both},
            **{str(k): {"description": v, "content": status} for k, v in errors.items()},
        },
        "security": [{"bearer": []}],
    }


@router.post(
    semconv.METRICS_PATH,
    summary="OTLP/HTTP metrics export (protobuf or JSON, optionally gzip)",
    response_class=Response,
    openapi_extra=_otlp("ExportMetricsServiceRequest", "ExportMetricsServiceResponse"),
)
async def export_metrics(request: Request) -> Response:
    """Decode, authorise, validate per point, commit, then answer (see docs/api.md).

    The app's state is read directly rather than through ``Depends``: this is the server's
    hot path, and dependency resolution was a visible share of its CPU per request.
    """
    settings, metrics = get_settings(request), get_metrics(request)
    received_s = time.time()
    encoding = _answer_encoding(request)
    try:
        store, limiter = get_store(request), get_limiter(request)
        principal, body, gzipped, key = await _receive(request, store, settings)

        def decode() -> Converted:
            message = decode_request(
                gunzip(body, settings.max_body_bytes) if gzipped else body, encoding
            )
            token_device = _token_device(principal)
            _check_devices(principal, resource_device_ids(message, token_device))
            return convert(
                message,
                received_s=received_s,
                limits=settings.ingest_limits(),
                limiter=limiter,
                batch_key=key,
                token_device=token_device,
            )

        converted = await _off_loop(request, decode)
        outcome = await _commit(store, settings, converted.batch)
    except DOMAIN_ERRORS as e:
        http, _ = status_of(e)
        metrics.requests.labels(_OUTCOME.get(http, "error")).inc()
        return otlp_error(e, encoding, retry_after_s=settings.retry_after_s)
    _count(metrics, converted, outcome)
    return Response(
        encode_response(converted.rejected_count, converted.message, encoding),
        media_type=encoding.value,
    )


@router.post(
    semconv.LOGS_PATH,
    summary="OTLP/HTTP logs export: sampled rows (event.name edgewatch.sample)",
    response_class=Response,
    openapi_extra=_otlp("ExportLogsServiceRequest", "ExportLogsServiceResponse"),
)
async def export_logs(
    request: Request, store: StoreDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    """Like ``/v1/metrics``, for the sampled rows devices opted in to send (see docs/reports.md)."""
    received_s = time.time()
    encoding = _answer_encoding(request)
    try:
        principal, body, gzipped, key = await _receive(request, store, settings)

        def decode() -> Converted:
            message = ExportLogsServiceRequest()
            raw = gunzip(body, settings.max_body_bytes) if gzipped else body
            decode_into(message, raw, encoding, "resourceLogs")
            token_device = _token_device(principal)
            _check_devices(principal, logs_device_ids(message, token_device))
            return convert_logs(
                message,
                received_s=received_s,
                limits=settings.ingest_limits(),
                batch_key=key,
                token_device=token_device,
            )

        converted = await _off_loop(request, decode)
        outcome = await _commit(store, settings, converted.batch)
    except DOMAIN_ERRORS as e:
        http, _ = status_of(e)
        metrics.requests.labels(_OUTCOME.get(http, "error")).inc()
        return otlp_error(e, encoding, retry_after_s=settings.retry_after_s)
    _count(metrics, converted, outcome)
    return Response(
        encode_logs_response(
            converted.rejected_count, converted.message, encoding is Encoding.PROTOBUF
        ),
        media_type=encoding.value,
    )


def _count(metrics: ServerMetrics, converted: Converted, outcome: WriteOutcome) -> None:
    batch = converted.batch
    for reason, n in converted.rejected.items():
        metrics.rejected.labels(reason).inc(n)
    if converted.rejected_count:
        metrics.points.labels("rejected").inc(converted.rejected_count)
    if outcome is WriteOutcome.DUPLICATE:
        metrics.requests.labels("duplicate").inc()
        metrics.points.labels("duplicate").inc(batch.point_count)
    else:
        metrics.requests.labels("partial" if converted.rejected_count else "ok").inc()
        metrics.points.labels("stored").inc(batch.point_count)


class IngestFastPath:
    """ASGI middleware that hands ``POST /v1/metrics`` straight to ``export_metrics``.

    The route stays in the router (and the OpenAPI document); this only skips routing,
    dependency resolution and the exception middleware, which cost about a fifth of the
    event loop's time per export. The handler answers every error itself, so nothing it
    raises needs those layers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == semconv.METRICS_PATH
        ):
            response = await export_metrics(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
