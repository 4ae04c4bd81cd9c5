"""Authentication and probe benchmark (issue #12): server CPU per rejected token against a
valid one, and ``/healthz`` latency under concurrent ingest beside an idle server.

Run: ``.venv/bin/python bench/auth.py`` (``make bench`` runs it); about 40 s. A real server
runs in a subprocess on loopback; CPU is read from its /proc entry, so the client's own CPU
does not count. Figures are printed with their budgets and PASS/FAIL:

- rejected / valid CPU per request ≤ 2 (a wrong secret must not cost scrypt's ~60 ms);
- ``/healthz`` p99 under 200 connections of ingest < 1 s (a liveness probe's timeout).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from http_load import probe, probe_under_load, request, split_url  # noqa: E402
from live_server import free_port, server_command, wait_ready  # noqa: E402

from edgewatch.server.store import Store, StoreConfig  # noqa: E402

REQUESTS = 300
"""Requests per kind of token, on one keep-alive connection."""
LOAD_CONNECTIONS = 200
LOAD_S = 8.0
BUDGET_RATIO = 2.0
BUDGET_PROBE_P99_S = 1.0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tokens(db: Path) -> dict[str, str]:
    """An admin token, a device token, and a device token stored the pre-SHA-256 way."""
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        tokens = {
            "admin": store.create_token(role="admin", name="bench").token,
            "device": store.create_token(role="device", device_id="dev-1").token,
            "legacy": store.create_token(role="device", device_id="dev-2").token,
        }
    _, token_id, secret = tokens["legacy"].split("_", 2)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    con = duckdb.connect(str(db))
    try:
        columns = {r[0] for r in con.execute("DESCRIBE tokens").fetchall()}
        # without the column (code from before SHA-256, for A/B runs) every row is scrypt
        scheme = ", scheme = 'scrypt'" if "scheme" in columns else ""
        con.execute(
            f"UPDATE tokens SET salt = ?, hash = ?{scheme} WHERE token_id = ?",
            [salt, digest, token_id],
        )
    finally:
        con.close()
    return tokens


def _wrong(token: str) -> str:
    prefix, token_id, _ = token.split("_", 2)
    return f"{prefix}_{token_id}_{secrets.token_urlsafe(32)}"


async def _config_requests(url: str, device: str, tokens: Callable[[], str]) -> dict[int, int]:
    """``REQUESTS`` reads of ``device``'s config, each with ``tokens()``; statuses counted."""
    host, port = split_url(url)
    streams = await asyncio.open_connection(host, port)
    statuses: dict[int, int] = {}
    try:
        for _ in range(REQUESTS):
            head = (
                f"GET /api/v1/devices/{device}/config HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {tokens()}\r\n\r\n"
            )
            status, _, _ = await request(host, port, head, b"", streams)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        streams[1].close()
    return statuses


def _server(db: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        server_command(db, port),
        env={**os.environ, "EDGEWATCH_LOG_LEVEL": "warning", "EDGEWATCH_ALERTING": "false", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def bench_cpu(tmp: Path) -> float:
    """Server CPU per request by kind of token; returns the worst rejected / valid ratio."""
    db = tmp / "auth.duckdb"
    tokens = _tokens(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # no per-source limit here: this measures what each verification costs
    server = _server(db, port, EDGEWATCH_AUTH_FAILURE_BURST="1000000")
    kinds: list[tuple[str, str, Callable[[], str]]] = [
        ("valid device token", "dev-1", lambda: tokens["device"]),
        ("wrong secret, existing id", "dev-1", lambda: _wrong(tokens["device"])),
        ("unknown token id", "dev-1", lambda: f"ewt_{secrets.token_hex(6)}_{'x' * 43}"),
        ("malformed token", "dev-1", lambda: "not-a-token"),
        ("wrong secret, legacy scrypt id", "dev-2", lambda: _wrong(tokens["legacy"])),
    ]
    per_request: dict[str, float] = {}
    try:
        wait_ready(url, server)
        asyncio.run(_config_requests(url, "dev-1", lambda: tokens["device"]))  # warm up
        print(f"== server CPU per request ({REQUESTS} requests each, GET /api/v1/devices/…/config)")
        for label, device, make in kinds:
            started = _cpu_s(server.pid)
            wall = time.perf_counter()
            statuses = asyncio.run(_config_requests(url, device, make))
            cpu_ms = 1000 * (_cpu_s(server.pid) - started) / REQUESTS
            wall_ms = 1000 * (time.perf_counter() - wall) / REQUESTS
            per_request[label] = cpu_ms
            print(f"  {label:32s} {cpu_ms:6.2f} ms CPU, {wall_ms:6.2f} ms wall  {statuses}")
    finally:
        server.terminate()
        server.wait(30)
    valid = max(per_request["valid device token"], 1e-3)
    ratio = max(v for k, v in per_request.items() if k != "valid device token") / valid
    verdict = "PASS" if ratio <= BUDGET_RATIO else "FAIL"
    print(f"  worst rejected / valid CPU ratio {ratio:.2f} (budget <= {BUDGET_RATIO}) {verdict}")
    return ratio


def bench_probe(tmp: Path) -> tuple[float, float]:
    """``/healthz`` p99 idle and under ``LOAD_CONNECTIONS`` connections of ingest."""
    db = tmp / "probe.duckdb"
    token = _tokens(db)["admin"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _server(db, port)
    try:
        wait_ready(url, server)
        idle = asyncio.run(probe(url, "/healthz", every_s=0.02, until=time.monotonic() + 3.0))
        loaded, load = asyncio.run(
            probe_under_load(
                url, token, path="/healthz", connections=LOAD_CONNECTIONS, duration_s=LOAD_S
            )
        )
    finally:
        server.terminate()
        server.wait(30)
    idle_p99, loaded_p99 = (float(np.percentile(x, 99)) for x in (idle, loaded))
    print("== /healthz on a fresh connection every 20-50 ms, p50 / p99 / max")
    for label, lat in (("idle", idle), (f"{LOAD_CONNECTIONS} ingest connections", loaded)):
        print(
            f"  {label:24s} {1000 * np.median(lat):7.1f} / {1000 * np.percentile(lat, 99):7.1f}"
            f" / {1000 * max(lat):7.1f} ms  ({len(lat)} probes)"
        )
    print(f"  ingest during the load: {load.requests} requests, statuses {load.statuses}")
    verdict = "PASS" if loaded_p99 < BUDGET_PROBE_P99_S else "FAIL"
    print(
        f"  p99 under load {1000 * loaded_p99:.1f} ms = {loaded_p99 / idle_p99:.1f}x idle"
        f" (budget < {1000 * BUDGET_PROBE_P99_S:.0f} ms) {verdict}"
    )
    return idle_p99, loaded_p99


def main() -> None:
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d', time.gmtime())}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_cpu(Path(tmp))
        bench_probe(Path(tmp))


if __name__ == "__main__":
    main()
