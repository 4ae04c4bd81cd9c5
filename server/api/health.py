"""``/healthz``, ``/readyz`` and Prometheus ``/metrics``.

The probes are answered by ``HealthFastPath`` ahead of routing and every other middleware,
from in-memory state only, so a liveness probe is not queued behind ingest work or the
thread pool. The routes stay in the router for the OpenAPI document.
"""

from __future__ import annotations

import gzip
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Receive, Scope, Send

from edgewatch.contract import HealthOut, ReadyOut
from edgewatch.server.api.deps import MetricsDep, SettingsDep, admin_principal, get_store

router = APIRouter(tags=["operations"])
HEALTHZ = "/healthz"
READYZ = "/readyz"


def _ready(app: object) -> bool:
    """Whether the app's store is open and its writer alive (in-memory flags, no query)."""
    store = getattr(getattr(app, "state", None), "store", None)
    return store is not None and bool(store.ready)


def _time_scale(app: object) -> float:
    """The rule time scale the app runs (1 unless a time-compressed fleet such as the demo
    is watched), so a dashboard can say its alerts come from scaled rules."""
    return float(getattr(getattr(app, "state", None), "rule_time_scale", 1.0))


def _readyz_response(ready: bool, rule_time_scale: float) -> Response:
    if ready:
        return JSONResponse({"status": "ready", "rule_time_scale": rule_time_scale})
    return JSONResponse({"status": "not ready"}, status_code=503, headers={"Retry-After": "1"})


@router.get(HEALTHZ, response_model=HealthOut, summary="The process is up")
async def healthz() -> HealthOut:
    """Always ``ok`` while the process serves requests."""
    return HealthOut(status="ok")


@router.get(
    READYZ,
    response_model=ReadyOut,
    summary="The store is open and its writer alive",
    responses={503: {"model": ReadyOut, "description": "not ready yet; see Retry-After"}},
)
async def readyz(request: Request) -> Response:
    """200 when ready to ingest (with the rule time scale), else 503."""
    return _readyz_response(_ready(request.app), _time_scale(request.app))


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            }
        }
    },
)
def prometheus_metrics(request: Request, metrics: MetricsDep, settings: SettingsDep) -> Response:
    """This app's registry in the format the scraper asks for: OpenMetrics 1.0 when its
    ``Accept`` names it (Prometheus does), else the text format 0.0.4; gzip when accepted
    (a fleet's per-device series make the page grow with the fleet). With
    ``metrics_need_token`` only an admin token is answered."""
    if settings.metrics_need_token:
        admin_principal(request, get_store(request), settings)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    body = encode(metrics.exposed)
    headers = {"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=6), "gzip"
    return Response(body, headers=headers)


_OK = Response(json.dumps({"status": "ok"}, separators=(",", ":")), media_type="application/json")


class HealthFastPath:
    """ASGI middleware answering ``GET /healthz`` and ``GET /readyz`` ahead of everything.

    ``app`` is the FastAPI app the middleware stack belongs to (for ``state.store``); the
    answers match the routes' exactly.
    """

    def __init__(self, app: ASGIApp, owner: object) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path == HEALTHZ:
                await _OK(scope, receive, send)
                return
            if path == READYZ:
                response = _readyz_response(_ready(self.owner), _time_scale(self.owner))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
