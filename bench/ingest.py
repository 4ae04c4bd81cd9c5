"""Ingest and query benchmark: OTLP/HTTP ingest with durable acknowledgement, against the naive
one-INSERT-per-point path, and dashboard query latency on 1,000 devices x 7 days.

Run: ``.venv/bin/python bench/ingest.py`` (``make bench`` runs it). A real server runs in a
subprocess on loopback; the load client runs in another process, bounded in time. Figures are
printed with their budgets from DESIGN.md and PASS/FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live_server import free_port, server_command, wait_ready  # noqa: E402
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (  # noqa: E402
    ExportMetricsServiceRequest,
)
from otlp_wire import collector_body, device_batch, point_count  # noqa: E402

from edgewatch.collector import semconv  # noqa: E402
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert  # noqa: E402
from edgewatch.server.store import (  # noqa: E402
    Batch,
    DeviceUpdate,
    ExpHistogramRows,
    HistogramRows,
    MetricInfo,
    NumericRows,
    Selection,
    SeriesQuery,
    Store,
    StoreConfig,
)

DEVICES = 300
CONNECTIONS = 200
"""Requests in flight at once (default): hundreds of devices posting at the same time, each on
its own keep-alive connection. ``--connections 48`` reproduces the earlier runs' setting."""
LOAD_S = 20.0
HISTORY_MINUTES = 60
"""Export intervals per simulated device, one minute apart (see ``_bodies``)."""
GATEWAY_DEVICES = 20
"""Devices per request in the gateway row (an OpenTelemetry Collector batching a site)."""
NAIVE_BATCHES = 40
BUDGET_POINTS_S = 100_000
BUDGET_QUERY_MS = 300.0
QUERY_DEVICES = 1_000
QUERY_DAYS = 7
HIST_HOURS = 6


# -- load client (runs in its own process) -------------------------------------------------


def _shifted(request: ExportMetricsServiceRequest, delta_ns: int) -> ExportMetricsServiceRequest:
    """A copy of ``request`` with every data point's start and time moved by ``delta_ns``."""
    out = ExportMetricsServiceRequest()
    out.CopyFrom(request)
    for rm in out.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in getattr(metric, metric.WhichOneof("data")).data_points:
                    p.time_unix_nano += delta_ns
                    p.start_time_unix_nano += delta_ns
    return out


def _bodies(devices: int, per_request: int) -> list[tuple[bytes, int]]:
    """Pre-built gzip protobuf bodies: ``per_request`` devices' ResourceMetrics in each, as a
    gateway (an OpenTelemetry Collector batching its devices' exports) would send them.

    Each device exports every minute: the bodies cover its last ``HISTORY_MINUTES`` export
    intervals, minute by minute, and are sent oldest first, so successive requests from one
    device carry successive intervals, as a real collector's (or one draining its spool)
    do, never the same interval again and again."""
    end_ns = time.time_ns()
    groups = []
    for first in range(0, devices, per_request):
        req = ExportMetricsServiceRequest()
        for i in range(first, min(first + per_request, devices)):
            one = device_batch(f"sim-{i:04d}", end_ns=end_ns, rng=np.random.default_rng(i))
            req.resource_metrics.extend(one.resource_metrics)
        groups.append(req)
    bodies = []
    for minutes_ago in range(HISTORY_MINUTES - 1, -1, -1):
        for req in groups:
            one = _shifted(req, -minutes_ago * 60 * 10**9)
            bodies.append((collector_body(one), point_count(one)))
    return bodies


async def _client(
    url: str, token: str, devices: int, connections: int, duration_s: float, per_request: int
) -> dict:
    host, port = url.removeprefix("http://").split(":")
    bodies = _bodies(devices, per_request)
    cpu_started = time.process_time()
    latencies: list[float] = []
    acked_points = 0
    statuses: dict[int, int] = {}
    next_body = 0
    deadline = time.perf_counter() + duration_s

    async def connection() -> None:
        nonlocal acked_points, next_body
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                body, points = bodies[next_body % len(bodies)]
                next_body += 1
                head = (
                    f"POST /v1/metrics HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n"
                    f"Authorization: Bearer {token}\r\n"
                    f"Idempotency-Key: {secrets.token_hex(16)}\r\n"
                    "User-Agent: edgewatch-collector/bench\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                status = int(status_line.split()[1])
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                    acked_points += points
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "elapsed_s": elapsed,
        "client_cpu_s": time.process_time() - cpu_started,
        "acked_points": acked_points,
        "requests": len(latencies),
        "points_per_batch": bodies[0][1],
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) * 1000 if latencies else float("nan"),
    }


# -- HTTP ingest ---------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _warm_token_cache(url: str, token: str) -> None:
    """One request before the clock starts: the server verifies a token with scrypt once and
    caches it, and 48 connections opening at once would otherwise each pay that (about 3 s of
    CPU in all), a start-up cost rather than the sustained rate this bench measures."""
    import httpx

    req = device_batch("warm-up", end_ns=time.time_ns())
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Authorization": f"Bearer {token}",
    }
    answer = httpx.post(f"{url}/v1/metrics", content=collector_body(req), headers=headers)
    answer.raise_for_status()


def bench_http(tmp: Path, per_request: int = 1, connections: int = CONNECTIONS) -> dict:
    """Sustained points/s through a real server with durable acknowledgement; ``per_request``
    devices' batches travel in each request."""
    db = tmp / f"http-{per_request}.duckdb"
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        token = store.create_token(role="admin", name="bench").token
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EDGEWATCH_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        server_command(db, port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url, server)
        _warm_token_cache(url, token)
        server_cpu = _cpu_s(server.pid)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                url,
                token,
                str(DEVICES),
                str(connections),
                str(LOAD_S),
                str(per_request),
            ],
            capture_output=True,
            text=True,
            timeout=LOAD_S + 120,
            check=True,
        )
        result = json.loads(out.stdout)
        result["server_cpu_s"] = _cpu_s(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait(30)
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        counts = store.row_counts()
    stored = counts["points"] + counts["exp_histograms"]
    result["stored_points"] = stored
    result["points_per_s"] = result["acked_points"] / result["elapsed_s"]
    result["server_cpu_ms_per_request"] = 1000 * result["server_cpu_s"] / max(result["requests"], 1)
    result["server_points_per_cpu_s"] = result["acked_points"] / max(result["server_cpu_s"], 1e-9)
    return result


def _print_http(label: str, http: dict) -> None:
    print(f"== HTTP ingest, {label}")
    print(
        f"  {http['points_per_s']:,.0f} points/s acknowledged after commit"
        f" ({http['requests']:,} requests x {http['points_per_batch']} points),"
        f" p50 {http['p50_ms']:.1f} ms, p99 {http['p99_ms']:.1f} ms, statuses {http['statuses']}"
    )
    print(
        f"  server CPU {http['server_cpu_s']:.1f} s = {http['server_cpu_ms_per_request']:.2f} ms"
        f" per request, {http['server_points_per_cpu_s']:,.0f} points per server CPU-second;"
        f" load client CPU {http['client_cpu_s']:.1f} s (same 2 cores)"
    )
    print(f"  stored {http['stored_points']:,} points; acknowledged {http['acked_points']:,}")


# -- storage paths: group-commit writer vs one INSERT per point ------------------------------


def _batches(n: int) -> list[Batch]:
    limiter = CardinalityLimiter(max_series_per_metric=10_000, max_series_per_device=100_000)
    now = time.time()
    return [
        convert(
            device_batch(f"sim-{i:04d}", end_ns=int(now * 1e9), rng=np.random.default_rng(i)),
            received_s=now,
            limits=IngestLimits(),
            limiter=limiter,
            batch_key=secrets.token_hex(16),
        ).batch
        for i in range(n)
    ]


def bench_writer(tmp: Path, batches: list[Batch]) -> float:
    """Points/s through ``Store.submit`` (Arrow inserts, group commits), storage only."""
    with Store.open(
        tmp / "writer.duckdb", StoreConfig(maintenance=False, max_queue=len(batches))
    ) as store:
        started = time.perf_counter()
        futures = [store.submit(b) for b in batches]
        for f in futures:
            f.result(60)
        elapsed = time.perf_counter() - started
    return sum(b.point_count for b in batches) / elapsed


def bench_naive(tmp: Path, batches: list[Batch]) -> float:
    """Points/s with one INSERT per point (executemany) and one commit per request."""
    db = tmp / "naive.duckdb"
    Store.open(db, StoreConfig(maintenance=False)).close()  # same schema, by the migrations
    con = duckdb.connect(str(db))
    started = time.perf_counter()
    for b in batches:
        n, e = b.numeric, b.exp_histograms
        con.begin()
        con.executemany(
            "INSERT INTO points VALUES (1, ?, ?, ?, ?, make_timestamp(?), make_timestamp(?), ?)",
            list(
                zip(
                    n.device_id,
                    n.metric,
                    n.attrs,
                    n.kind,
                    n.start_us,
                    n.ts_us,
                    n.value,
                    strict=True,
                )
            ),
        )
        con.executemany(
            "INSERT INTO exp_histograms VALUES (1, ?, ?, ?, make_timestamp(?), make_timestamp(?),"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(
                zip(
                    e.device_id,
                    e.metric,
                    e.attrs,
                    e.start_us,
                    e.ts_us,
                    e.temporality,
                    e.scale,
                    e.zero_count,
                    e.pos_offset,
                    e.pos_counts,
                    e.neg_offset,
                    e.neg_counts,
                    e.count,
                    e.sum,
                    e.min,
                    e.max,
                    strict=True,
                )
            ),
        )
        con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return sum(b.point_count for b in batches) / elapsed


# -- queries on 1,000 devices x 7 days ------------------------------------------------------


def _seed(store: Store, now_s: float) -> None:
    """Per device and minute over 7 days: an ``ok`` inference count, an ``error`` count in the
    minutes that had errors (as the collector sends them), and over the last HIST_HOURS a
    latency histogram; stored through ``Store.submit`` one day at a time, then rolled up."""
    rng = np.random.default_rng(7)
    devices = np.array([f"dev-{i:04d}" for i in range(QUERY_DEVICES)], dtype=object)
    versions = ["1.0.0", "1.1.0", "2.0.0"]
    ok_attrs = json.dumps({semconv.OUTCOME: semconv.OUTCOME_OK}, separators=(",", ":"))
    err_attrs = json.dumps({semconv.OUTCOME: semconv.OUTCOME_ERROR}, separators=(",", ":"))
    first = (now_s // 60) * 60 - QUERY_DAYS * 86400
    registry = tuple(
        DeviceUpdate(
            d,
            "fleet-a",
            "classifier",
            versions[i % 3],
            "raspberry-pi-5",
            "onnxruntime",
            "arm64",
            "linux",
            "edgewatch-collector",
            "battery",
            "{}",
            -0.5,
        )
        for i, d in enumerate(devices)
    )
    metrics = (
        MetricInfo(semconv.INFERENCE_COUNT, "delta", "1", ""),
        MetricInfo(semconv.INFERENCE_DURATION, "exp_histogram", "s", ""),
    )
    for day in range(QUERY_DAYS):
        minutes = first + 60 + day * 86400 + 60 * np.arange(1440)
        ts = (np.tile(minutes, QUERY_DEVICES) * 1e6).astype(np.int64)
        dev = np.repeat(devices, 1440)
        n = ts.size
        ok = rng.poisson(60, n).astype(float)
        err = rng.poisson(0.5, n).astype(float)
        has_err = err > 0
        all_ts = np.concatenate([ts, ts[has_err]])
        k_err = int(has_err.sum())
        numeric = NumericRows(
            device_id=np.concatenate([dev, dev[has_err]]).tolist(),
            metric=[semconv.INFERENCE_COUNT] * (n + k_err),
            attrs=[ok_attrs] * n + [err_attrs] * k_err,
            kind=["delta"] * (n + k_err),
            start_us=(all_ts - 60_000_000).tolist(),
            ts_us=all_ts.tolist(),
            value=np.concatenate([ok, err[has_err]]).tolist(),
        )
        exp = ExpHistogramRows()
        recent = ts >= (now_s - HIST_HOURS * 3600) * 1e6
        if recent.any():
            k = int(recent.sum())
            counts = rng.multinomial(60, [0.05, 0.15, 0.3, 0.3, 0.15, 0.05], k)
            exp = ExpHistogramRows(
                device_id=dev[recent].tolist(),
                metric=[semconv.INFERENCE_DURATION] * k,
                attrs=["{}"] * k,
                start_us=(ts[recent] - 60_000_000).tolist(),
                ts_us=ts[recent].tolist(),
                temporality=["delta"] * k,
                scale=[3] * k,
                zero_count=[0] * k,
                pos_offset=rng.integers(-46, -42, k).tolist(),
                pos_counts=counts.tolist(),
                neg_offset=[0] * k,
                neg_counts=[[]] * k,
                count=[60] * k,
                sum=[1.2] * k,
                min=[0.01] * k,
                max=[0.05] * k,
            )
        store.submit(
            Batch(
                int(now_s * 1e6),
                registry if day == QUERY_DAYS - 1 else (),
                metrics,
                (),
                numeric,
                exp,
                HistogramRows(),
            )
        ).result(600)
        store.roll_up()


def _timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def bench_queries(tmp: Path) -> dict[str, float]:
    now_s = time.time()
    with Store.open(tmp / "queries.duckdb", StoreConfig(maintenance=False)) as store:
        started = time.perf_counter()
        _seed(store, now_s)
        seed_s = time.perf_counter() - started
        now = datetime.fromtimestamp(now_s, UTC)
        day, week = timedelta(days=1), timedelta(days=QUERY_DAYS)
        hour = timedelta(hours=1)
        results = {
            "seed_s": seed_s,
            "fleet summary, last 1 h (raw points)": _timed(
                lambda: store.fleet_summary(start=now - hour, end=now, now=now)
            ),
            "fleet summary, last 24 h (1h rollups)": _timed(
                lambda: store.fleet_summary(start=now - day, end=now, now=now)
            ),
            "fleet summary, last 7 d (1h rollups)": _timed(
                lambda: store.fleet_summary(start=now - week, end=now, now=now)
            ),
            "device series, 7 d step 1 h (1h rollups)": _timed(
                lambda: store.series(
                    SeriesQuery(
                        semconv.INFERENCE_COUNT,
                        now - week,
                        now,
                        3600,
                        Selection(device_id="dev-0042"),
                    )
                )
            ),
            "device series, 24 h step 1 min (1m rollups)": _timed(
                lambda: store.series(
                    SeriesQuery(
                        semconv.INFERENCE_COUNT, now - day, now, 60, Selection(device_id="dev-0042")
                    )
                )
            ),
            "fleet series, 7 d step 1 h, all devices": _timed(
                lambda: store.series(SeriesQuery(semconv.INFERENCE_COUNT, now - week, now, 3600))
            ),
            "latency distribution, fleet, last 6 h (1h rollups)": _timed(
                lambda: store.distribution(
                    semconv.INFERENCE_DURATION, start=now - HIST_HOURS * hour, end=now
                )
            ),
        }
    return results


def main(http_only: bool = False, connections: int = CONNECTIONS) -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        setup = f"{DEVICES} devices, {connections} connections, {LOAD_S:.0f} s, loopback"
        http = bench_http(tmp, connections=connections)
        _print_http(f"one device per request (the budget's figure): {setup}", http)
        gateways = -(-DEVICES // GATEWAY_DEVICES)
        gateway = bench_http(tmp, GATEWAY_DEVICES, gateways)
        _print_http(
            f"gateway shape, {GATEWAY_DEVICES} devices' ResourceMetrics per request"
            f" (reported beside, never instead of, the figure above): {DEVICES} devices behind"
            f" {gateways} gateways, one connection each, {LOAD_S:.0f} s, loopback",
            gateway,
        )
        ok = (
            http["points_per_s"] >= BUDGET_POINTS_S
            and http["stored_points"] >= http["acked_points"]
            and gateway["stored_points"] >= gateway["acked_points"]
        )
        print(
            f"  budget >= {BUDGET_POINTS_S:,} points/s with durable ack, one device per request:"
            f" {'PASS' if ok else 'FAIL'}"
        )
        if http_only:
            return 0
        batches = _batches(NAIVE_BATCHES * 10)
        writer = bench_writer(tmp, batches)
        naive = bench_naive(tmp, batches[:NAIVE_BATCHES])
        print("== storage path only (same decoded batches)")
        print(f"  group-commit writer (Arrow):      {writer:,.0f} points/s")
        print(f"  naive, one INSERT per point:      {naive:,.0f} points/s")
        print(f"  ratio writer / naive:             {writer / naive:,.0f}x")
        print(f"  ratio HTTP end-to-end / naive:    {http['points_per_s'] / naive:,.1f}x")
        print(f"== queries: {QUERY_DEVICES} devices x {QUERY_DAYS} days of 1-minute data")
        queries = bench_queries(tmp)
        print(f"  seeded in {queries.pop('seed_s'):.1f} s")
        worst = 0.0
        for name, ms in queries.items():
            worst = max(worst, ms)
            print(f"  {name:<44} {ms:7.1f} ms")
        print(
            f"  budget <= {BUDGET_QUERY_MS:.0f} ms (worst {worst:.1f} ms): "
            f"{'PASS' if worst <= BUDGET_QUERY_MS else 'FAIL'}"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--client",
        nargs=6,
        metavar=("URL", "TOKEN", "DEVICES", "CONNS", "SECONDS", "PER_REQUEST"),
        help="internal: run the load client",
    )
    parser.add_argument("--http-only", action="store_true", help="only the two HTTP ingest rows")
    parser.add_argument(
        "--connections", type=int, default=CONNECTIONS, help=f"default {CONNECTIONS}"
    )
    args = parser.parse_args()
    if args.client:
        url, token, devices, conns, seconds, per_request = args.client
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        print(
            json.dumps(
                asyncio.run(
                    _client(url, token, int(devices), int(conns), float(seconds), int(per_request))
                )
            )
        )
        sys.exit(0)
    sys.exit(main(http_only=args.http_only, connections=args.connections))
