"""``/healthz``, ``/readyz`` and Prometheus ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edgewatch.server.api.deps import MetricsDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always ``ok`` while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The store is open and its writer alive")
def readyz(request: Request) -> Response:
    """200 when ready to ingest, else 503."""
    store = getattr(request.app.state, "store", None)
    if store is not None and store.ready:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready"}, status_code=503, headers={"Retry-After": "1"})


@router.get("/metrics", summary="Prometheus metrics")
def prometheus_metrics(metrics: MetricsDep) -> Response:
    """Text exposition format of this app's registry."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
