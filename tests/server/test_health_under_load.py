"""``/healthz`` and ``/readyz`` answer promptly while ingest keeps the server busy (issue #12,
finding 8a): a liveness probe with a 1 s timeout must never restart a healthy server.

The server runs in its own process (as deployed); 200 keep-alive connections post OTLP
exports back to back while a probe opens a fresh connection every 50 ms, like kubelet does.
"""

from __future__ import annotations

import asyncio

import pytest
from http_load import probe_under_load
from server_harness import ServerProcess, make_tokens

PROBE_TIMEOUT_S = 1.0
"""Kubernetes' default ``timeoutSeconds`` for probes."""


# Wall-clock deadlines: judged with nothing else running (`make test` runs these last, alone).
pytestmark = pytest.mark.serial


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_answers_within_a_second_under_ingest_load(
    server_process: ServerProcess, path: str
) -> None:
    token = make_tokens(server_process.db).admin
    server_process.start()
    latencies, load = asyncio.run(
        probe_under_load(server_process.url, token, path=path, connections=200, duration_s=5.0)
    )
    assert load.statuses.get(200, 0) >= 100, load.statuses
    assert len(latencies) >= 10
    assert max(latencies) < PROBE_TIMEOUT_S, sorted(latencies)[-5:]
    assert sorted(latencies)[len(latencies) // 2] < PROBE_TIMEOUT_S / 4
