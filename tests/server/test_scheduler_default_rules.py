"""Every built-in default rule evaluates on real collector-shaped data without error, the
firing hook sees alerts that start firing, and ``/api/v1/versions/compare`` judges versions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from alerting_harness import AlertingServer, poll
from live_server import free_port, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from server_harness import make_tokens, serve_in_thread

from edgewatch.server.alert import Alert
from edgewatch.server.alerting import AlertingService
from edgewatch.server.settings import load_settings


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """The default rules (no rules file); the test drives the scheduler with run_once."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    settings = load_settings(db_path=db, port=port, scheduler_tick_s=3600.0)
    uv, thread, app = serve_in_thread(settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield AlertingServer(url, tokens, db, Path("<defaults>"), app)
    finally:
        uv.should_exit = True
        thread.join(30)


def _send(server: AlertingServer, device: str, token: str, **kwargs: Any) -> None:
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(device_batch(device, **kwargs)),
        headers=collector_headers(token),
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_every_default_rule_evaluates_and_firing_hook_runs(server: AlertingServer) -> None:
    fired: list[Alert] = []
    server.app.state.on_firing.append(fired.append)
    now = time.time()
    for minute in range(30, 0, -1):  # half an hour of one-minute exports from two devices
        end_ns = int((now - minute * 60) * 1e9)
        rng = np.random.default_rng(minute)
        _send(server, "dev-a", server.tokens.device_a, end_ns=end_ns, features=4, rng=rng)
        _send(
            server, "dev-b", server.tokens.device_b, end_ns=end_ns, features=4, rng=rng,
            model_version="2.0.0", latency_s=0.05,
        )  # fmt: skip
    service: AlertingService = server.app.state.alerting
    service.scheduler.run_once(datetime.fromtimestamp(now, UTC))
    rules = server.get("/api/v1/rules")["rules"]
    assert len(rules) == 18
    assert {r["name"]: r["last_error"] for r in rules} == {r["name"]: None for r in rules}
    assert all(r["last_evaluated_at"] is not None for r in rules)

    # The devices stopped 1 minute ago: in 5 more minutes DeviceOffline fires (for: 0s).
    later = datetime.fromtimestamp(now + 300, UTC)
    service.scheduler.run_once(later)
    offline = poll(lambda: server.alerts(state="firing", severity="critical"))
    assert {a["labels"]["device"] for a in offline} == {"dev-a", "dev-b"}
    assert {a.labels["device"] for a in fired if a.rule == "DeviceOffline"} == {"dev-a", "dev-b"}

    window = {
        "from": datetime.fromtimestamp(now - 3600, UTC).isoformat(),
        "to": datetime.fromtimestamp(now, UTC).isoformat(),
    }
    compared = server.get(
        "/api/v1/versions/compare", model="classifier", a="1.0.0", b="2.0.0", **window
    )
    assert compared["verdict"] == "b_worse"  # 2.0.0 runs at 50 ms against 20 ms
    p95 = next(s for s in compared["signals"] if s["signal"] == "latency_p95")
    assert p95["verdict"] == "b_worse" and p95["b"] > 2 * p95["a"]
    same = server.get(
        "/api/v1/versions/compare", model="classifier", a="2.0.0", b="1.0.0", **window
    )
    assert same["verdict"] == "b_better"
    empty = server.get("/api/v1/versions/compare", model="classifier", a="1.0.0", b="9.9", **window)
    assert empty["verdict"] == "insufficient_data"
