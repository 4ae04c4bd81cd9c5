"""Issue #12, finding 7: a device's losses reach the server whole. A real collector process
spools through an outage long enough that its spool drops the oldest batches, is killed
with SIGKILL and restarted; when the server comes up, the device API reports exactly what the
device lost: the inferences it recorded minus those the server stored."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from live_server import free_port, wait_ready
from offline_collector import FEATURES, ROWS, SPOOL_MAX_BYTES, run_offline
from server_harness import make_tokens, serve_in_thread

from edgewatch.collector import Monitor
from edgewatch.contract import parse_instant
from edgewatch.server.settings import load_settings


def test_device_api_reports_what_the_device_lost_through_an_outage_and_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spool_dir = tmp_path / "spool"

    # The server is down: two lives of the collector, each killed with SIGKILL.
    runs = [
        run_offline(spool_dir, url, 24, token=tokens.device_a, device_id="dev-a", seed=seed)
        for seed in (1, 2)
    ]
    assert all(r.dropped > 0 for r in runs), "the outage was long enough to drop batches"
    recorded = ROWS * sum(r.built for r in runs)

    server, thread, _ = serve_in_thread(load_settings(db_path=db, port=port))
    try:
        wait_ready(url)
        m = Monitor(
            "lossy",
            "v1",
            endpoint=url,
            token=tokens.device_a,
            device_id="dev-a",
            spool_dir=spool_dir,
            features=FEATURES,
            samplers=[],
            start=False,
            spool_max_bytes=SPOOL_MAX_BYTES,
        )
        assert m.flush(timeout_s=20.0) is True
        lost = int(m.stats()["lost.batches.spool_full"])
        m.close()
        assert lost >= sum(r.dropped for r in runs)

        admin = {"Authorization": f"Bearer {tokens.admin}"}
        with httpx.Client(base_url=url, headers=admin, timeout=10.0) as client:
            device = client.get("/api/v1/devices/dev-a")
            assert device.status_code == 200, device.text
            now = time.time()
            summary = client.get(
                "/api/v1/fleet/summary", params={"start": now - 1800, "end": now + 60}
            )
            assert summary.status_code == 200, summary.text
        stored = sum(v["inferences"] for v in summary.json()["versions"])
        dropped = device.json()["dropped"]
        assert dropped is not None, "the device API says what the device lost"
        assert dropped["batches"] == {"spool_full": lost}
        assert dropped["inferences"] == {"spool_full": ROWS * lost}
        assert dropped["inferences_total"] == recorded - stored, "the server knows every loss"
        last_drop = dropped["last_drop_at"]
        assert last_drop is not None and parse_instant(last_drop).timestamp() <= time.time()
    finally:
        server.should_exit = True
        thread.join(15)
