"""``create_app(settings)``: the FastAPI app; the lifespan opens the store, nothing at import."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edgewatch.server.alert import RulesError
from edgewatch.server.alerting import AlertingService, FiringHook, load_ruleset
from edgewatch.server.api import ROUTERS
from edgewatch.server.api import errors as api_errors
from edgewatch.server.api import openapi as api_openapi
from edgewatch.server.api.auth_limit import AuthFailureLimiter
from edgewatch.server.api.health import HealthFastPath
from edgewatch.server.api.ingest import IngestFastPath
from edgewatch.server.detect import TimeScale
from edgewatch.server.evidence import DRIFT_RULES, DriftCapture, drift_rule_names
from edgewatch.server.ingest import CardinalityLimiter
from edgewatch.server.metrics import ServerMetrics
from edgewatch.server.settings import Settings
from edgewatch.server.store import Store, StoreProtocol
from edgewatch.server.store._writer import CommitObserver

log = logging.getLogger("edgewatch.server")

INSECURE_BANNER = (
    "!!! edgewatch server running with --insecure-dev: NO AUTHENTICATION. Anyone who can reach "
    "this port can write metrics and read every device. Never use this outside development. !!!"
)


def _start_alerting(
    settings: Settings, store: StoreProtocol, on_firing: list[FiringHook]
) -> AlertingService:
    """Rules (refusing to start on a broken file), receivers, worker and scheduler."""
    try:
        ruleset = load_ruleset(settings.rules_file, settings.external_url)
    except RulesError as e:
        store.close()
        log.error("%s", e)
        raise
    service = AlertingService(
        store,
        ruleset,
        rules_path=settings.rules_file,
        external_url=settings.external_url,
        tick_s=settings.scheduler_tick_s,
        delivery_poll_s=settings.delivery_poll_s,
        policy=settings.retry_policy(),
        retention_s=settings.retention_1m_s,
        on_firing=on_firing,
        scale=TimeScale(settings.rule_time_scale),
    )
    # On a lake, every replica serves alerting reads; one (the lease holder) schedules.
    when_leader: Callable[[Callable[[], None]], None] | None = getattr(store, "when_leader", None)
    if when_leader is None:
        service.start()
    else:
        when_leader(service.start)
    return service


def open_store(settings: Settings, *, on_commit: CommitObserver | None = None) -> Store:
    """The configured backend: the embedded DuckDB file, or a lake replica."""
    if settings.store == "duckdb":
        return Store.open(settings.db_path, settings.store_config(), on_commit=on_commit)
    from edgewatch.server.lake import LakeConfig, LakeStore

    assert settings.catalog is not None and settings.data_path is not None
    return LakeStore.open_lake(
        LakeConfig(settings.catalog, settings.data_path, settings.lake_inline_rows),
        settings.store_config(),
        on_commit=on_commit,
        lease_poll_s=settings.lease_poll_s,
    )


def _install_sighup(service: AlertingService) -> bool:
    """Reload the rules on SIGHUP; ``False`` where signals cannot be handled (not the main
    thread, or no SIGHUP on this platform)."""

    def reload() -> None:
        result = service.reload()
        if result.ok:
            log.info("SIGHUP: rules reloaded (%d rules)", len(result.ruleset.rules))
        else:
            log.error("SIGHUP: rules file rejected, old rules kept: %s", "; ".join(result.errors))

    try:
        loop = asyncio.get_running_loop()
        # Reloading stops the delivery threads: off the event loop, so requests go on.
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, reload))
    except (ValueError, RuntimeError, NotImplementedError, AttributeError):
        return False
    return True


def _drift_rules(service: AlertingService) -> Callable[[], frozenset[str]]:
    """The drift rules of the rule set in force (it changes on SIGHUP)."""
    return lambda: drift_rule_names(service.engine.ruleset.rules)


def create_app(settings: Settings) -> FastAPI:
    """The server app for ``settings``; the store opens when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.insecure_dev:
            log.warning(INSECURE_BANNER)
            print(INSECURE_BANNER, file=sys.stderr, flush=True)
        metrics: ServerMetrics = app.state.metrics
        app.state.decode_executor = ThreadPoolExecutor(1, thread_name_prefix="edgewatch-decode")
        store: StoreProtocol = open_store(settings, on_commit=metrics.on_commit)
        app.state.limiter = CardinalityLimiter(
            max_series_per_metric=settings.max_series_per_metric,
            max_series_per_device=settings.max_series_per_device,
            known=store.known_series(),
        )
        app.state.store = store
        metrics.bind(store)
        alerting = (
            _start_alerting(settings, store, app.state.on_firing) if settings.alerting else None
        )
        capture = DriftCapture(
            store.samples,
            rows_per_hour=settings.drift_sampling_rows_per_hour,
            for_s=settings.drift_sampling_for_s,
            rules=DRIFT_RULES if alerting is None else _drift_rules(alerting),
        )
        app.state.drift_capture = capture
        app.state.on_firing.append(capture.on_drift_alert_firing)  # the scheduler reads the list
        app.state.alerting = alerting
        sighup = _install_sighup(alerting) if alerting is not None else False
        if not settings.insecure_dev and not store.has_admin_token():
            log.warning(
                "no admin token exists: create one with `edgewatch token create --admin "
                "--db %s` while the server is stopped",
                settings.db_path,
            )
        try:
            yield
        finally:
            if sighup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if alerting is not None:
                alerting.stop()
            app.state.alerting = None
            app.state.on_firing.remove(capture.on_drift_alert_firing)
            metrics.bind(None)
            app.state.store = None
            store.close()
            app.state.decode_executor.shutdown(wait=True)

    app = FastAPI(
        title="edgewatch server",
        version="0.1.0",
        description="OTLP/HTTP metrics ingest and the edgewatch query API.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry hooks look up the global providers (environment
        # reads) on every request; the server reports itself through /metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.metrics = ServerMetrics()
    app.state.rule_time_scale = settings.rule_time_scale
    app.state.store = None
    app.state.alerting = None
    app.state.on_firing = []  # FiringHook callbacks: run with each alert that starts firing
    app.state.auth_limiter = AuthFailureLimiter(
        per_minute=settings.auth_failures_per_minute, burst=settings.auth_failure_burst
    )
    api_errors.install(app, ROUTERS, retry_after_s=settings.retry_after_s)
    app.add_middleware(IngestFastPath)
    app.add_middleware(HealthFastPath, owner=app)  # added last: runs first
    for router in ROUTERS:
        app.include_router(router)
    api_openapi.install(app, ROUTERS)
    return app
