"""Scale-out benchmark: the ingest benchmark's load against 1, 2 and 3 lake replicas (DuckLake,
catalog in a throwaway PostgreSQL, Parquet in a temporary directory) beside the embedded
DuckDB server, same run, same machine; then the fleet overview query on both stores.

Run: ``.venv/bin/python bench/scaleout.py`` (needs the PostgreSQL binaries and the [scale]
extra; about three minutes). Each row prints points/s, server CPU-seconds per million points (all
server processes together, and for the lake PostgreSQL's own CPU too: replicas move work into
it), p99 latency, and for the lake the Parquet files committed per minute; ``--before REF``
adds rows for the lake replicas of git revision REF (a commit, a branch), same run; then the ratios the budget judges: lake CPU per point over embedded (aim <= 1.5x),
and 2 replicas' throughput over 1 (aim >= 1.6x where cores allow: on 2 cores replicas add
no cores, so per-core efficiency is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "bench"))

import ingest  # noqa: E402
from lake_cluster import Postgres, postgres, start_replica, unavailable  # noqa: E402
from live_server import free_port, server_command, wait_ready  # noqa: E402

from edgewatch.server.lake import LakeConfig, LakeStore  # noqa: E402
from edgewatch.server.store import Store, StoreConfig  # noqa: E402

LOAD_S = 8.0
DEVICES = 200
CONNECTIONS = 48
"""In flight at once, split evenly over the replicas."""
SERVER_DEFAULTS = {"EDGEWATCH_ROLLUP_INTERVAL_S": "10", "EDGEWATCH_LEASE_POLL_S": "2"}
"""Replicas run with the server's default schedule, as the embedded server does (the tests'
replicas roll up every second)."""
BEFORE: str | None = None
"""A git revision whose lake replicas also run, for a before/after comparison."""
QUERY_DEVICES = 1_000
"""Devices x 7 days for the query comparison, the issue's size (about 30 s to seed per
store; ``--query-devices 100`` for a quick look)."""


def _cpu_s(pids: list[int]) -> float:
    return sum(ingest._cpu_s(p) for p in pids)


def _load(urls: list[str]) -> dict:
    """The ingest bench's client, one subprocess per server, all at once."""
    per = max(1, CONNECTIONS // len(urls))

    def one(url: str) -> dict:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "ingest.py"), "--client", url, "bench",
             str(DEVICES), str(per), str(LOAD_S), "1"],
            capture_output=True, text=True, timeout=LOAD_S + 120, check=True,
        )  # fmt: skip
        return dict(json.loads(out.stdout))

    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(one, urls))
    return {
        "acked_points": sum(r["acked_points"] for r in results),
        "elapsed_s": max(r["elapsed_s"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "statuses": {
            k: sum(r["statuses"].get(k, 0) for r in results) for k in results[0]["statuses"]
        },
    }


def _row(
    label: str, pids: list[int], urls: list[str], files: Path | None, pg: Postgres | None = None
) -> dict:
    """One load run; CPU counts ``pids`` and, for the lake, the PostgreSQL cluster."""
    before_files = len(list(files.rglob("*.parquet"))) if files else 0
    cpu = _cpu_s(pids) + (pg.cpu_s() if pg else 0.0)
    result = _load(urls)
    result["server_cpu_s"] = _cpu_s(pids) + (pg.cpu_s() if pg else 0.0) - cpu
    result["points_per_s"] = result["acked_points"] / result["elapsed_s"]
    result["cpu_s_per_m"] = 1e6 * result["server_cpu_s"] / max(result["acked_points"], 1)
    new_files = (len(list(files.rglob("*.parquet"))) - before_files) if files else None
    files_text = (
        f"{60 * new_files / result['elapsed_s']:8.0f}" if new_files is not None else "       -"
    )
    print(
        f"  {label:<22} {result['points_per_s']:>10,.0f} {result['cpu_s_per_m']:>10.1f}"
        f" {result['p99_ms']:>9.1f} {files_text}   {result['statuses']}",
        flush=True,
    )
    return result


def _source_tree(ref: str, tmp: Path) -> Path:
    """A checkout of ``ref`` laid out as the ``edgewatch`` package (links to its folders), to
    put first on PYTHONPATH: replicas started with it run that revision's code."""
    src = tmp / f"src-{secrets.token_hex(3)}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(src), ref],
                   check=True)  # fmt: skip
    tree = tmp / f"pkg-{secrets.token_hex(3)}" / "edgewatch"
    tree.mkdir(parents=True)
    (tree / "__init__.py").write_text("")
    for name in ("collector", "contract", "detectors", "server", "dashboard", "demo"):
        if (src / name).is_dir():
            (tree / name).symlink_to(src / name)
    return tree.parent


def bench_ingest(
    tmp: Path, pg: Postgres, catalog_of: Callable[[str], str], before: Path | None
) -> dict[str, dict]:
    print(
        f"== ingest: {DEVICES} devices, {CONNECTIONS} connections, {LOAD_S:.0f} s per row, loopback"
    )
    print(f"  {'server':<22} {'points/s':>10} {'cpu-s/Mpt':>10} {'p99 ms':>9} {'files/min':>8}")
    rows: dict[str, dict] = {}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EDGEWATCH_LOG_LEVEL": "warning"}
    embedded = subprocess.Popen(
        server_command(tmp / "embedded.duckdb", port, "--insecure-dev"),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(url, embedded)
        rows["embedded"] = _row("embedded DuckDB", [embedded.pid], [url], None)
    finally:
        embedded.terminate()
        embedded.wait(30)
    runs: list[tuple[str, int, dict[str, str]]] = [("", n, SERVER_DEFAULTS) for n in (1, 2, 3)]
    if before is not None:
        path = f"{before}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        env_before = {**SERVER_DEFAULTS, "PYTHONPATH": path}
        runs += [("before ", n, env_before) for n in (1, 2)]
    for prefix, n, extra_env in runs:
        catalog = catalog_of(f"bench_{n}_{secrets.token_hex(3)}")
        data = tmp / f"lake-{secrets.token_hex(3)}"
        with ThreadPoolExecutor(n) as pool:
            futures = [
                pool.submit(start_replica, catalog, data, tmp, env=extra_env) for _ in range(n)
            ]
            replicas = [f.result() for f in futures]
        try:
            rows[f"{prefix}lake x{n}"] = _row(
                f"{prefix}lake, {n} replica{'s' if n > 1 else ''}",
                [r.proc.pid for r in replicas], [r.url for r in replicas], data, pg,
            )  # fmt: skip
        finally:
            for r in replicas:
                r.stop()
    return rows


def bench_queries(tmp: Path, catalog: str) -> tuple[float, float, float, float]:
    """Milliseconds of the 7-day fleet overview: embedded, lake, the lake through the
    embedded store's method (one snapshot per query, as before ``LakeStore.fleet_summary``);
    and the seconds seeding the lake took."""
    ingest.QUERY_DEVICES = QUERY_DEVICES
    now = time.time()
    at, week = datetime.fromtimestamp(now, UTC), timedelta(days=7)
    with Store.open(tmp / "q.duckdb", StoreConfig(maintenance=False)) as store:
        ingest._seed(store, now)
        embedded = ingest._timed(lambda: store.fleet_summary(start=at - week, end=at, now=at))
    lake = LakeConfig(catalog, str(tmp / "lake-q"))
    started = time.perf_counter()
    with LakeStore.open_lake(lake, StoreConfig(maintenance=False), scheduler=False) as store:
        ingest._seed(store, now)
        seed_s = time.perf_counter() - started
        on_lake = ingest._timed(lambda: store.fleet_summary(start=at - week, end=at, now=at))
        per_query = ingest._timed(
            lambda: Store.fleet_summary(store, start=at - week, end=at, now=at)
        )
    return embedded, on_lake, per_query, seed_s


def main() -> int:
    reason = unavailable()
    if reason:
        print(f"bench/scaleout.py: {reason}")
        return 1
    cores = os.cpu_count() or 1
    print(
        f"machine: {cores} cores (os.cpu_count), PostgreSQL on the same host, fsync off;"
        " lake CPU includes PostgreSQL's"
    )
    with tempfile.TemporaryDirectory() as tmp_name, postgres() as pg:
        tmp = Path(tmp_name)
        before = _source_tree(BEFORE, tmp) if BEFORE else None
        try:
            rows = bench_ingest(tmp, pg, pg.create_database, before)
        finally:
            if before is not None:
                for src in tmp.glob("src-*"):
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                    str(src)], check=False)  # fmt: skip
                    shutil.rmtree(src, ignore_errors=True)
        base, one, two = rows["embedded"], rows["lake x1"], rows["lake x2"]
        print(
            f"  lake CPU per point / embedded:    {one['cpu_s_per_m'] / base['cpu_s_per_m']:.2f}x (aim <= 1.5x)"
        )
        print(
            f"  2 replicas / 1 replica points/s:  {two['points_per_s'] / one['points_per_s']:.2f}x (aim >= 1.6x where cores allow)"
        )
        if "before lake x1" in rows:
            old = rows["before lake x1"]
            print(
                f"  lake CPU per point now / {BEFORE}: {one['cpu_s_per_m'] / old['cpu_s_per_m']:.2f}x;"
                f" before / embedded {old['cpu_s_per_m'] / base['cpu_s_per_m']:.2f}x"
            )
        for name, r in rows.items():
            busy = r["server_cpu_s"] / r["elapsed_s"]
            print(
                f"  per-core efficiency {name:<12} {r['points_per_s'] / max(busy, 1e-9):>10,.0f} points per server-CPU-second ({busy:.2f} cores busy)"
            )
        print(f"== fleet overview, 7 d: {QUERY_DEVICES} devices x 7 days of 1-minute data")
        embedded, on_lake, per_query, seed_s = bench_queries(tmp, pg.create_database("bench_q"))
        print(f"  embedded DuckDB   {embedded:7.1f} ms")
        print(
            f"  lake              {on_lake:7.1f} ms  ({on_lake / embedded:.2f}x; lake seeded in {seed_s:.1f} s)"
        )
        print(
            f"  lake, a snapshot per query {per_query:7.1f} ms  (one snapshot: {on_lake / per_query:.2f}x of it)"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--query-devices", type=int, default=QUERY_DEVICES)
    parser.add_argument("--seconds", type=float, default=LOAD_S, help="load per row")
    parser.add_argument(
        "--connections", type=int, default=CONNECTIONS, help="in flight, over all servers"
    )
    parser.add_argument("--before", metavar="REF", help="also run the lake rows of git REF")
    args = parser.parse_args()
    QUERY_DEVICES, LOAD_S, CONNECTIONS = args.query_devices, args.seconds, args.connections
    BEFORE = args.before
    sys.exit(main())
