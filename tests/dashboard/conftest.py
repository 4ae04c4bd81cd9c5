"""A real edgewatch server seeded with a small known fleet, and the dashboard pointed at it.

Devices that were last heard from in the past cannot be made over HTTP (the server stamps
each batch with its receive time), so the stale and offline devices are written through the
server's own ingest conversion and store, with a past receive time, before the server starts;
every other device reports through the real ``POST /v1/metrics`` endpoint.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fleet_data import DeviceSpec, batch, body, headers
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from edgewatch.server.app import create_app
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.settings import Settings, load_settings
from edgewatch.server.store import Store

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "app.py"
MINUTE_NS = 60_000_000_000

# name → (spec, minutes before now of each batch's end)
ONLINE = {
    "dev-a": (DeviceSpec("dev-a"), range(30)),
    "dev-b": (DeviceSpec("dev-b", power_w=5.0), range(30)),
    "dev-c": (DeviceSpec("dev-c", power_w=None), range(30)),
    "dev-d": (
        DeviceSpec("dev-d", model_version="1.1.0", latency_s=0.050, temperature_c=71.0),
        [*range(8), *range(20, 30)],
    ),
}
DEV_B_CLOCK_BEHIND_S = 90.0
STALE = ("dev-e", DeviceSpec("dev-e", model_version="1.1.0", latency_s=0.050), 600.0)
OFFLINE = ("dev-f", DeviceSpec("dev-f"), 7200.0)
BATCHES_IN_LAST_HOUR = 30 * 3 + 18 + 30  # dev-a..c, dev-d, dev-e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout_s} s")


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


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
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


def _roll_up(server: uvicorn.Server) -> None:
    """Bring the server's minute rollups up to date (the page reads them for 1 min steps)."""
    store: Store = server.config.app.state.store
    store.roll_up()


def start_seeded_server(db: Path) -> tuple[SeededServer, uvicorn.Server, threading.Thread]:
    """Seed ``db``, start the server on a free loopback port and send the online devices."""
    now = time.time()
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        admin = store.create_token(role="admin", name="dashboard tests").token
        for _, spec, age_s in (STALE, OFFLINE):
            _write_past(store, spec, now - age_s)
    port = free_port()
    settings = load_settings(db_path=db, port=port)
    server, thread = _serve(settings)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    seeded = SeededServer(url, admin, db)
    with seeded.api() as api:
        now_ns = time.time_ns()
        for device_id, (spec, minutes) in ONLINE.items():
            token = api.post(
                "/api/v1/tokens", json={"role": "device", "device_id": device_id}
            ).json()["token"]
            shift = int(DEV_B_CLOCK_BEHIND_S * 1e9) if device_id == "dev-b" else 0
            request = _request(spec, [now_ns - shift - k * MINUTE_NS for k in minutes])
            r = api.post("/v1/metrics", content=body(request), headers=headers(token))
            assert r.status_code == 200, r.text
    _roll_up(server)
    return seeded, server, thread


@pytest.fixture(scope="session")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    """One seeded server shared by the dashboard tests (they only read, or act on alerts)."""
    seeded, server, thread = start_seeded_server(tmp_path_factory.mktemp("edgewatch") / "ew.duckdb")
    try:
        yield seeded
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[SeededServer]:
    """A real server nobody has sent anything to yet."""
    db = tmp_path / "empty.duckdb"
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        admin = store.create_token(role="admin", name="dashboard tests").token
    port = free_port()
    server, thread = _serve(load_settings(db_path=db, port=port))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield SeededServer(url, admin, db)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def dashboard_env(seeded_server: SeededServer, monkeypatch: pytest.MonkeyPatch) -> SeededServer:
    """The dashboard's environment pointing at the seeded server."""
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", seeded_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", seeded_server.admin)
    return seeded_server
