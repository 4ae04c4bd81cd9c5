"""``create_app(settings)``: the FastAPI app; the lifespan opens the store, nothing at import."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edgewatch.server.api import ROUTERS
from edgewatch.server.api import errors as api_errors
from edgewatch.server.evidence import DriftCapture
from edgewatch.server.ingest import CardinalityLimiter
from edgewatch.server.metrics import ServerMetrics
from edgewatch.server.settings import Settings
from edgewatch.server.store import Store

log = logging.getLogger("edgewatch.server")

INSECURE_BANNER = (
    "!!! edgewatch server running with --insecure-dev: NO AUTHENTICATION. Anyone who can reach "
    "this port can write metrics and read every device. Never use this outside development. !!!"
)


def create_app(settings: Settings) -> FastAPI:
    """The server app for ``settings``; the store opens when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.insecure_dev:
            log.warning(INSECURE_BANNER)
            print(INSECURE_BANNER, file=sys.stderr, flush=True)
        metrics: ServerMetrics = app.state.metrics
        store = Store.open(settings.db_path, settings.store_config(), on_commit=metrics.on_commit)
        app.state.limiter = CardinalityLimiter(
            max_series_per_metric=settings.max_series_per_metric,
            max_series_per_device=settings.max_series_per_device,
            known=store.known_series(),
        )
        app.state.store = store
        app.state.drift_capture = DriftCapture(
            store.samples,
            rows_per_hour=settings.drift_sampling_rows_per_hour,
            for_s=settings.drift_sampling_for_s,
        )
        metrics.bind(store)
        if not settings.insecure_dev and not store.has_admin_token():
            log.warning(
                "no admin token exists: create one with `edgewatch token create --admin "
                "--db %s` while the server is stopped",
                settings.db_path,
            )
        try:
            yield
        finally:
            metrics.bind(None)
            app.state.store = None
            store.close()

    app = FastAPI(
        title="edgewatch server",
        version="0.1.0",
        description="OTLP/HTTP metrics ingest and the edgewatch query API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ServerMetrics()
    app.state.store = None
    api_errors.install(app, retry_after_s=settings.retry_after_s)
    for router in ROUTERS:
        app.include_router(router)
    return app
