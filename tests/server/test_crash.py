"""Durability: every acknowledged batch survives ``kill -9`` of the server process."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import httpx
import pytest
from live_server import REQUEST_TIMEOUT_S
from otlp_wire import collector_body, collector_headers, device_batch, point_count
from server_harness import make_tokens

from edgewatch.server.settings import Settings
from edgewatch.server.store import Store

# A hang guard, not a budget: two server starts, 40 acknowledged batches and the resends
# took 76 s at a load average of 15.
pytestmark = pytest.mark.timeout(180)
DEVICES = ("dev-a", "dev-b")


def test_acknowledged_batches_survive_sigkill_and_resends_are_not_stored_again(
    server_process,
) -> None:
    tokens = make_tokens(server_process.db)
    token_of = {"dev-a": tokens.device_a, "dev-b": tokens.device_b}
    server_process.start()
    acked: dict[str, list[tuple[str, bytes]]] = {d: [] for d in DEVICES}
    per_batch = point_count(device_batch("dev-a", end_ns=time.time_ns(), features=8))
    stop = threading.Event()

    def send(device: str) -> None:
        # A client timeout beyond the server's write timeout: a transport error then means the
        # server is gone, not that a commit under load took over 5 s (that stopped the sender).
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
            for i in range(200):
                if stop.is_set():
                    return
                body = collector_body(
                    device_batch(device, end_ns=time.time_ns() - i * 10**9, features=8)
                )
                key = secrets.token_hex(16)
                try:
                    r = client.post(
                        f"{server_process.url}/v1/metrics",
                        content=body,
                        headers=collector_headers(token_of[device], key),
                    )
                except httpx.TransportError:
                    return  # the server was killed mid-request: not acknowledged
                if r.status_code == 200:
                    acked[device].append((key, body))

    threads = [threading.Thread(target=send, args=(d,)) for d in DEVICES]
    for t in threads:
        t.start()

    def enough() -> bool:  # what the assertions below need, before the kill
        return sum(len(v) for v in acked.values()) >= 40 and all(
            len(acked[d]) >= 5 for d in DEVICES
        )

    deadline = time.monotonic() + 45
    while not enough() and time.monotonic() < deadline:
        time.sleep(0.01)
    server_process.kill()  # SIGKILL while requests are in flight
    stop.set()
    for t in threads:
        t.join(10)
    assert all(len(acked[d]) >= 5 for d in DEVICES)

    after_crash = _stored_points(server_process.db)
    for device in DEVICES:
        assert after_crash[device] >= len(acked[device]) * per_batch
        assert after_crash[device] % per_batch == 0  # batches are atomic: never half a batch

    server_process.start()
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        for device in DEVICES:
            for key, body in acked[device][:10]:
                r = client.post(
                    f"{server_process.url}/v1/metrics",
                    content=body,
                    headers=collector_headers(token_of[device], key),
                )
                assert r.status_code == 200
    server_process.stop()
    assert _stored_points(server_process.db) == after_crash


def _stored_points(db: Path) -> dict[str, int]:
    with Store.open(db, Settings().store_config(maintenance=False)) as store:
        counts = {d: store.row_counts(d) for d in DEVICES}
    return {d: c["points"] + c["exp_histograms"] for d, c in counts.items()}
