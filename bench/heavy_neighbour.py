"""What one heavy device costs its neighbours (a measurement, not a budget): a neighbour's
ingest latency p50/p99 alone and while another device sends 60,000-metric requests of about
8 MB, in the same run, as a ratio. Ingest decodes on one thread, so the neighbour waits.

Run: ``.venv/bin/python bench/heavy_neighbour.py``; about a minute. A real server runs in a
subprocess on loopback.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live_server import free_port, server_command, wait_ready  # noqa: E402
from otlp_wire import collector_body, collector_headers, device_batch, kv  # noqa: E402

from edgewatch.server.store import Store, StoreConfig  # noqa: E402

HEAVY_METRICS = 60_000
NEIGHBOUR_REQUESTS = 60
"""Neighbour exports per phase, one after another on one connection."""
# The heavy device's series beyond max_series_per_device (10,000) are refused by the
# cardinality cap after its first request, but every request is still decoded in full.


def heavy_body() -> bytes:
    """One request of ``HEAVY_METRICS`` gauges (about 8 MB decoded), gzip protobuf."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.append(kv("device.id", "heavy"))
    metrics = rm.scope_metrics.add().metrics
    now_ns = time.time_ns()
    for i in range(HEAVY_METRICS):
        p = metrics.add(name=f"heavy.metric.{i:06d}").gauge.data_points.add(
            time_unix_nano=now_ns, as_double=float(i)
        )
        p.attributes.extend(
            [
                kv("host.path", f"/var/lib/sensor/{i:06d}/value"),
                kv("unit", "C"),
                kv("sensor.kind", "temperature"),
            ]
        )
    return collector_body(request)


def neighbour_latencies(client: httpx.Client, token: str) -> list[float]:
    """Seconds per neighbour export, ``NEIGHBOUR_REQUESTS`` in a row."""
    out = []
    for _ in range(NEIGHBOUR_REQUESTS):
        body = collector_body(device_batch("neighbour", end_ns=time.time_ns(), features=8))
        started = time.perf_counter()
        r = client.post("/v1/metrics", content=body, headers=collector_headers(token))
        out.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    return out


def main() -> None:
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d', time.gmtime())}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "heavy.duckdb"
        with Store.open(db, StoreConfig(maintenance=False)) as store:
            admin = store.create_token(role="admin", name="bench").token
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            server_command(db, port),
            env={**os.environ, "EDGEWATCH_LOG_LEVEL": "warning", "EDGEWATCH_ALERTING": "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(url, server)
            body = heavy_body()
            stop = threading.Event()
            heavy_s: list[float] = []

            def heavy() -> None:
                with httpx.Client(base_url=url, timeout=120) as c:
                    while not stop.is_set():
                        started = time.perf_counter()
                        c.post("/v1/metrics", content=body, headers=collector_headers(admin))
                        heavy_s.append(time.perf_counter() - started)

            with httpx.Client(base_url=url, timeout=120) as client:
                neighbour_latencies(client, admin)  # warm-up: series created, caches filled
                alone = neighbour_latencies(client, admin)
                sender = threading.Thread(target=heavy, daemon=True)
                sender.start()
                beside = neighbour_latencies(client, admin)
                stop.set()
                sender.join(120)
        finally:
            server.terminate()
            server.wait(30)
    size_mb = len(gzip.decompress(body)) / 1e6
    print(f"== heavy device: {HEAVY_METRICS} metrics, {size_mb:.1f} MB ({len(body) / 1e6:.1f} gzip),"
          f" median {np.median(heavy_s):.2f} s per request ({len(heavy_s)} sent)")  # fmt: skip
    print(f"== neighbour ingest, {NEIGHBOUR_REQUESTS} exports per phase: p50 / p99")
    for label, lat in (("alone", alone), ("beside the heavy device", beside)):
        print(
            f"  {label:24s} {1000 * np.median(lat):8.1f} / {1000 * np.percentile(lat, 99):8.1f} ms"
        )
    for name, q in (("p50", 50), ("p99", 99)):
        print(f"  {name} ratio {np.percentile(beside, q) / np.percentile(alone, q):.1f}x")


if __name__ == "__main__":
    main()
