"""A server started with a rule time scale runs the built-in rules scaled end to end: the rules
API shows the scaled windows, ``/readyz`` reports the scale, and DeviceOffline fires after
three missed exports of one second (its 60 s ``export_interval_s`` divided by 60)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from alerting_harness import AlertingServer, poll
from live_server import free_port, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from server_harness import make_tokens, serve_in_thread

from edgewatch.server.alerting import AlertingService
from edgewatch.server.settings import load_settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AlertingServer]:
    """The built-in rules at a time scale of 60; the test drives the scheduler."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    settings = load_settings(db_path=db, port=port, scheduler_tick_s=3600.0, rule_time_scale=60.0)
    uv, thread, app = serve_in_thread(settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield AlertingServer(url, tokens, db, Path("<defaults>"), app)
    finally:
        uv.should_exit = True
        thread.join(30)


def test_scaled_rules_are_in_force_and_offline_fires_after_three_seconds(
    server: AlertingServer,
) -> None:
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready", "rule_time_scale": 60.0}
    rules = {r["name"]: r for r in server.get("/api/v1/rules")["rules"]}
    assert len(rules) == 18
    assert (rules["MemoryLeak"]["interval_s"], rules["MemoryLeak"]["for_s"]) == (10.0, 10.0)
    service: AlertingService = server.app.state.alerting
    assert service.engine.ruleset.rule("MemoryLeak").window_s == 360.0
    now = time.time()
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(
            device_batch(
                "dev-a",
                end_ns=int(now * 1e9),
                features=2,
                rng=np.random.default_rng(0),
            )
        ),
        headers=collector_headers(server.tokens.device_a),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    service.scheduler.run_once(datetime.fromtimestamp(now + 1.5, UTC))
    assert not server.alerts(state="firing")
    service.scheduler.run_once(datetime.fromtimestamp(now + 5.0, UTC))
    offline = poll(lambda: server.alerts(state="firing", severity="critical"))
    assert {(a["labels"]["alertname"], a["labels"]["device"]) for a in offline} == {
        ("DeviceOffline", "dev-a")
    }
