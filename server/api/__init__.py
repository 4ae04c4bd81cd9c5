"""HTTP routers: OTLP ingest, query API, tokens, health and metrics; one module per resource."""

from __future__ import annotations

from edgewatch.server.api import (
    devices,
    fleet,
    health,
    ingest,
    reports,
    sampling,
    series,
    tokens,
)

ROUTERS = (
    ingest.router,
    devices.router,
    series.router,
    fleet.router,
    tokens.router,
    health.router,
    sampling.router,
    reports.router,
)

__all__ = ["ROUTERS"]
