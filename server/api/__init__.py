"""HTTP routers: OTLP ingest, query API, tokens, health and metrics; one module per resource."""

from __future__ import annotations

from edgewatch.server.api import (
    alerts,
    baselines,
    devices,
    drift,
    fleet,
    health,
    ingest,
    performance,
    predictions,
    profiles,
    reports,
    rollouts,
    rules,
    sampling,
    series,
    silences,
    tokens,
)

ROUTERS = (
    ingest.router,
    alerts.router,
    silences.router,
    rules.router,
    drift.router,
    baselines.router,
    devices.router,
    series.router,
    predictions.router,
    fleet.router,
    tokens.router,
    health.router,
    sampling.router,
    reports.router,
    profiles.router,
    rollouts.router,
    performance.router,
)

__all__ = ["ROUTERS"]
