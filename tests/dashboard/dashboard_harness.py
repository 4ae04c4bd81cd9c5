"""A real edgewatch server seeded with a small known fleet, with alerting on: the machinery
behind the dashboard tests' fixtures and ``docs/screenshots/make_screenshots.py``.

Devices that were last heard from in the past cannot be made over HTTP (the server stamps
each batch with its receive time), so the stale and offline devices are written through the
server's own ingest conversion and store, with a past receive time, before the server starts;
every other device reports through the real ``POST /v1/metrics`` endpoint. Baselines are
uploaded through the API, and the server's own scheduler raises the alerts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from dashboard_fleet import DeviceSpec, baseline_csv, batch
from live_server import free_port, wait_ready
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import collector_body, collector_headers

from edgewatch.server.app import create_app
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.settings import Settings, load_settings
from edgewatch.server.store import Store

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "app.py"
MINUTE_NS = 60_000_000_000
WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LWZvci1kYXNoYm9hcmQtdGVzdHM="  # test only

# name → (spec, minutes before now of each batch's end)
ONLINE = {
    "dev-a": (DeviceSpec("dev-a"), range(30)),
    "dev-b": (DeviceSpec("dev-b", power_w=5.0, lost_batches=3), range(30)),
    "dev-c": (DeviceSpec("dev-c", power_w=None), range(30)),
    "dev-d": (
        DeviceSpec(
            "dev-d",
            model_version="1.1.0",
            latency_s=0.050,
            temperature_c=71.0,
            f01_shift=3.0,
            classes=(("cat", 100), ("dog", 200), ("bird", 300)),
        ),
        [*range(8), *range(20, 30)],
    ),
}
DEV_B_CLOCK_BEHIND_S = 90.0
FRESH_FOR_S = 900.0
"""How long the seeded fleet reads as seeded: the online devices stay online (and not
DeviceOffline) and the stale device's batches stay in the last hour. The server's and the
rule's thresholds are widened from 3 minutes to this, since the dashboard tests sharing one
seeded server take longer than 3 minutes under load."""
STALE = ("dev-e", DeviceSpec("dev-e", model_version="1.1.0", latency_s=0.050), FRESH_FOR_S + 60)
OFFLINE = ("dev-f", DeviceSpec("dev-f"), 7200.0)
STATUS_SETTINGS = {"online_after_s": FRESH_FOR_S, "offline_after_s": 3600.0}
"""Online within ``FRESH_FOR_S`` of the last report, offline after an hour: dev-e is stale
and dev-f offline throughout."""
BATCHES_IN_LAST_HOUR = 30 * 3 + 18 + 30  # dev-a..c, dev-d, dev-e


def rules(webhook_port: int) -> dict[str, Any]:
    """Three rules evaluated every few seconds, and a webhook receiver nobody listens on."""
    return {
        "route": {
            "receivers": ["oncall"],
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1h",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "oncall",
                "type": "webhook",
                "url": f"http://127.0.0.1:{webhook_port}/hooks/edgewatch?key=hidden",
                "secret": WEBHOOK_SECRET,
            }
        ],
        "rules": [
            {
                "name": "DeviceOffline",
                "detector": "missing_heartbeat",
                # 3 × 300 s = FRESH_FOR_S: dev-e and dev-f are offline, the others not.
                "params": {"missed_intervals": 3, "export_interval_s": FRESH_FOR_S / 3},
                "scope": {"level": "device"},
                "signal": "edgewatch.device.last_seen",
                "window": "5m",
                "interval": "3s",
                "threshold": ">= 3",
                "for": "0s",
                "severity": "critical",
                "annotations": {"summary": "{{ device }} stopped reporting"},
            },
            {
                "name": "FeatureDrift",
                "detector": "psi",
                "params": {"threshold": 0.2},
                "scope": {"level": "version"},
                "signal": "ml.feature.value",
                "window": "1h",
                "interval": "3s",
                "threshold": "> 0.2",
                "for": "0s",
                "severity": "warning",
                "annotations": {
                    "summary": "Feature {{ feature }} drifted on {{ model }} {{ version }}"
                },
            },
            {
                "name": "PredictionDrift",
                "detector": "jensenshannon",
                "params": {"threshold": 0.1},
                "scope": {"level": "version"},
                "signal": "ml.prediction.class.count",
                "window": "1h",
                "interval": "3s",
                "threshold": "> 0.1",
                "for": "0s",
                "severity": "info",
            },
        ],
    }


def _request(spec: DeviceSpec, end_times_ns: list[int]) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    for end_ns in sorted(end_times_ns):
        request.resource_metrics.extend(batch(spec, end_ns).resource_metrics)
    return request


def _write_past(store: Store, spec: DeviceSpec, received_s: float) -> None:
    """30 batches of ``spec`` ending at ``received_s``, stored as if received then."""
    end_ns = int(received_s * 1e9)
    request = _request(spec, [end_ns - k * MINUTE_NS for k in range(30)])
    converted = convert(
        request,
        received_s=received_s,
        limits=IngestLimits(),
        limiter=CardinalityLimiter(max_series_per_metric=1000, max_series_per_device=1000),
    )
    assert not converted.rejected, converted.message
    store.submit(converted.batch).result(30)


@dataclass
class SeededServer:
    """A running server with the fleet above; ``admin`` is an admin token."""

    url: str
    admin: str
    db: Path

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin}"}, timeout=120
        )


@dataclass
class Running:
    """A server in a thread of this process; ``stop()`` shuts it down."""

    seeded: SeededServer
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    """uvicorn on ``settings.port`` in a daemon thread."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-dashboard-tests", daemon=True)
    thread.start()
    return server, thread


def new_admin_token(db: Path) -> str:
    """An admin token in a fresh DuckDB file (opened briefly, before the server)."""
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        return store.create_token(role="admin", name="dashboard tests").token


def start_empty_server(
    db: Path, *, alerting: bool = False, rule_time_scale: float = 1.0
) -> Running:
    """A server nobody has sent anything to, without alerting unless asked (then with the
    default rules, scaled by ``rule_time_scale``)."""
    admin = new_admin_token(db)
    port = free_port()
    settings = load_settings(
        db_path=db, port=port, alerting=alerting, rule_time_scale=rule_time_scale
    )
    server, thread = serve(settings)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    return Running(SeededServer(url, admin, db), server, thread)


def _poll(what: str, check: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout_s} s")
        time.sleep(0.25)


def start_seeded_server(db: Path) -> Running:
    """Seed ``db``, start the server with alerting, send the online devices, upload the
    baselines and wait until the scheduler has raised the alerts and drift results."""
    now = time.time()
    admin = new_admin_token(db)
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        for _, spec, age_s in (STALE, OFFLINE):
            _write_past(store, spec, now - age_s)
    rules_file = db.parent / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rules(free_port()), sort_keys=False))
    port = free_port()
    settings = load_settings(
        db_path=db,
        port=port,
        rules_file=rules_file,
        scheduler_tick_s=0.5,
        delivery_max_backoff_s=5.0,
        **STATUS_SETTINGS,
    )
    server, thread = serve(settings)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    running = Running(SeededServer(url, admin, db), server, thread)
    try:
        _seed(running)
    except BaseException:
        running.stop()
        raise
    return running


RESEED_AFTER_S = FRESH_FOR_S - 300.0
"""A seeded server this old is replaced before the next test: a test started then still
ends (the dashboard tests time out after 180 s at most) while the fleet reads as seeded."""


class FreshSeededServer:
    """The seeded server for the next test, seeded again once it is older than
    ``RESEED_AFTER_S`` (a test session under load can outlast ``FRESH_FOR_S``)."""

    def __init__(self, new_db: Callable[[], Path]) -> None:
        self._new_db = new_db
        self._running: Running | None = None
        self._seeded_at = 0.0

    def current(self) -> SeededServer:
        if self._running is None or time.monotonic() - self._seeded_at > RESEED_AFTER_S:
            self.stop()
            self._seeded_at = time.monotonic()  # before seeding: the fleet's "now"
            self._running = start_seeded_server(self._new_db())
        return self._running.seeded

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None


def send_device(seeded: SeededServer, device_id: str) -> None:
    """One of the ``ONLINE`` devices reports its history with its own device token."""
    spec, minutes = ONLINE[device_id]
    send_spec(seeded, spec, minutes)


def send_spec(seeded: SeededServer, spec: DeviceSpec, minutes: Iterable[int]) -> None:
    """``spec`` reports the exports that ended ``minutes`` ago, with its own device token."""
    device_id = spec.device_id
    with seeded.api() as api:
        token = api.post("/api/v1/tokens", json={"role": "device", "device_id": device_id}).json()[
            "token"
        ]
        now_ns = time.time_ns()
        shift = int(DEV_B_CLOCK_BEHIND_S * 1e9) if device_id == "dev-b" else 0
        request = _request(spec, [now_ns - shift - k * MINUTE_NS for k in minutes])
        r = api.post(
            "/v1/metrics", content=collector_body(request), headers=collector_headers(token)
        )
        assert r.status_code == 200, r.text


def wait_rolled_up(seeded: SeededServer, device_id: str) -> None:
    """Wait until the device's newest minutes reached the 1-minute rollups the pages read."""

    def rolled_up() -> bool:
        with seeded.api() as api:
            r = api.get(
                "/api/v1/series",
                params={"metric": "ml.inference.count", "device_id": device_id, "step": 60},
            )
        return r.status_code == 200 and bool(r.json()["points"])

    _poll(f"1-minute rollup of {device_id}", rolled_up)


def _seed(running: Running) -> None:
    for device_id in ONLINE:
        send_device(running.seeded, device_id)
    with running.seeded.api() as api:
        for version in ("1.0.0", "1.1.0"):
            r = api.post(
                "/api/v1/baselines",
                params={"model": "classifier", "version": version},
                files={"file": ("reference.csv", baseline_csv(), "text/csv")},
            )
            assert r.status_code == 201, r.text
        store: Store = running.server.config.app.state.store
        store.roll_up()  # the pages read one-minute rollups

        def raised() -> bool:
            firing = api.get("/api/v1/alerts", params={"state": "firing"}).json()["alerts"]
            names = {
                (a["rule"], a["labels"].get("device") or a["labels"].get("version")) for a in firing
            }
            drift = api.get("/api/v1/drift").json()["results"]
            return {("DeviceOffline", "dev-f"), ("FeatureDrift", "1.1.0")} <= names and bool(drift)

        _poll("firing alerts", raised)
