"""Stateless replicas on one lake (real PostgreSQL, real server processes on loopback):
ingest through two replicas, read through either; a batch sent to both is stored once; a
replica killed mid-ingest loses no acknowledged point and duplicates none after resend;
cumulative exports alternating between replicas add up; a killed scheduler leader's lease
passes to the other replica."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from alert_http_sink import Sink
from alerting_harness import webhook, write_rules
from lake_cluster import (
    Postgres,
    Replica,
    lease_holder_pid,
    postgres,
    start_replica,
    unavailable,
    wait_for,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import (
    collector_body,
    collector_headers,
    cumulative_batch,
    device_batch,
    point_count,
)

from edgewatch.contract import from_unix_s
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, Store, StoreConfig, WriteOutcome

REASON = unavailable()
if REASON is not None:
    print(f"skipping the lake replica tests: {REASON}")
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(120)]

NOW_NS = time.time_ns()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with postgres() as pg:
        yield pg


@pytest.fixture
def replicas(
    cluster: Postgres, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, list[Replica]]]:
    catalog = cluster.create_database(f"lake_{secrets.token_hex(4)}")
    data = tmp_path / "lake"
    started: list[Replica] = []
    try:
        with ThreadPoolExecutor(2) as pool:  # start side by side: half the wait
            futures = [pool.submit(start_replica, catalog, data, tmp_path) for _ in range(2)]
            started.extend(f.result() for f in futures)
        yield catalog, started
    finally:
        for r in started:
            r.stop()


def _send(url: str, request: ExportMetricsServiceRequest, key: str) -> int:
    for _ in range(50):
        try:
            r = httpx.post(
                f"{url}/v1/metrics",
                content=collector_body(request),
                headers=collector_headers(None, key),
                timeout=10.0,
            )
        except httpx.TransportError:
            return -1
        if r.status_code != 503:
            return r.status_code
        time.sleep(0.2)
    return 503


def _lake_rows(catalog: str, data: Path, sql: str) -> list[tuple[object, ...]]:
    """``sql`` run straight on the lake (not through a replica)."""
    from edgewatch.server.lake import LakeConfig, connect
    from edgewatch.server.lake._connect import search

    con = search(connect(LakeConfig(catalog, str(data))))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _stored_points(catalog: str, data: Path) -> dict[str, int]:
    """Raw rows per device (the 'cum' device of the cumulative check aside)."""
    rows = _lake_rows(
        catalog,
        data,
        "SELECT device_id, sum(n) FROM (SELECT device_id, count(*) AS n FROM points GROUP BY 1"
        " UNION ALL SELECT device_id, count(*) FROM exp_histograms GROUP BY 1) GROUP BY 1",
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _devices(url: str) -> set[str]:
    r = httpx.get(f"{url}/api/v1/devices", params={"limit": 1000}, timeout=10.0)
    r.raise_for_status()
    body = r.json()
    items = body["devices"] if isinstance(body, dict) else body
    return {d["device_id"] for d in items}


def test_two_replicas_share_one_lake_store_a_twin_batch_once_and_add_cumulatives_once(
    replicas: tuple[str, list[Replica]], tmp_path: Path
) -> None:
    catalog, (a, b) = replicas
    batches = {f"dev-{i}": device_batch(f"dev-{i}", end_ns=NOW_NS, features=2) for i in range(6)}
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(
                lambda item: _send((a, b)[item[0] % 2].url, item[1][1], secrets.token_hex(8)),
                enumerate(batches.items()),
            )
        )
        twin = device_batch("twin", end_ns=NOW_NS, features=2)
        key = secrets.token_hex(8)
        twins = list(pool.map(lambda r: _send(r.url, twin, key), (a, b)))
    assert codes == [200] * 6
    assert twins == [200, 200]
    want = {d: point_count(req) for d, req in batches.items()} | {"twin": point_count(twin)}
    assert _stored_points(catalog, tmp_path / "lake") == want
    assert _devices(a.url) == _devices(b.url) == set(want)

    # A device's cumulative exports reach the replicas in turn: every delta counted once.
    start_ns = NOW_NS - 600_000_000_000
    for i, total in enumerate([10, 25, 25, 60, 61, 100]):
        request = cumulative_batch("cum", total, start_ns + (i + 1) * 60_000_000_000, start_ns)
        assert _send((a, b)[i % 2].url, request, secrets.token_hex(8)) == 200
    assert _lake_rows(
        catalog,
        tmp_path / "lake",
        "SELECT sum(value) FROM points WHERE device_id = 'cum' AND metric = 'requests.total'",
    ) == [(100.0,)]


def test_killed_leader_loses_no_acknowledged_batch_stores_resends_once_and_hands_over(
    replicas: tuple[str, list[Replica]], tmp_path: Path
) -> None:
    catalog, replicas_ = replicas
    wait_for(lambda: lease_holder_pid(catalog) is not None, 10.0, "a lease holder")
    # Kill the scheduler leader: it must lose no acknowledged batch and hand the lease over.
    a, b = replicas_ if replicas_[0].proc.pid == lease_holder_pid(catalog) else replicas_[::-1]
    batches = [(f"k-{i}", secrets.token_hex(8)) for i in range(40)]
    requests = {d: device_batch(d, end_ns=NOW_NS, features=2) for d, _ in batches}
    acked: set[str] = set()
    stop = threading.Event()

    def feed() -> None:
        for device, key in batches:
            if stop.is_set():
                return
            if _send(a.url, requests[device], key) == 200:
                acked.add(device)

    sender = threading.Thread(target=feed)
    sender.start()
    wait_for(lambda: len(acked) >= 10, 30.0, "ten acknowledged batches")
    a.kill()
    stop.set()
    sender.join(30)
    assert 10 <= len(acked) < len(batches)
    took_s = wait_for(lambda: lease_holder_pid(catalog) == b.proc.pid, 10.0, "lease takeover")
    print(f"scheduler lease taken over {took_s:.2f} s after kill -9 (poll 0.5 s)")
    # The collector resends everything not acknowledged, and (worst case) some that were.
    assert all(_send(b.url, requests[d], key) == 200 for d, key in batches)
    assert _stored_points(catalog, tmp_path / "lake") == {
        d: point_count(r) for d, r in requests.items()
    }


def _embedded_batch(device: str, end_s: float, key: str) -> Batch:
    limiter = CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000)
    return convert(
        device_batch(device, end_ns=int(end_s * 1e9), features=2, inferences=100, errors=1),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=30 * 86400),
        limiter=limiter,
        batch_key=key,
    ).batch


def test_lake_migrate_copies_an_embedded_file_and_its_idempotency_keys(
    cluster: Postgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edgewatch.server.cli import main
    from edgewatch.server.lake import LakeConfig, LakeStore

    db = tmp_path / "edgewatch.duckdb"
    now = time.time()
    batches = [_embedded_batch(f"m-{i}", now - 120 + i, f"key-{i}") for i in range(3)]
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        for b in batches:
            assert store.submit(b).result(10) is WriteOutcome.STORED
        store.roll_up()
        before = store.row_counts()
        devices = [d.device_id for d in store.list_devices(now=from_unix_s(now))]
    catalog = cluster.create_database(f"lake_{secrets.token_hex(4)}")
    lake = LakeConfig(catalog, str(tmp_path / "lake"))
    args = ["lake", "migrate", "--db", str(db), "--catalog", catalog, "--data-path", lake.data_path]
    assert main(args) == 0
    assert "points" in capsys.readouterr().err  # progress per table
    with LakeStore.open_lake(lake, StoreConfig(maintenance=False), scheduler=False) as store:
        assert store.row_counts() == before
        assert [d.device_id for d in store.list_devices(now=from_unix_s(now))] == devices
        assert store.submit(batches[0]).result(30) is WriteOutcome.DUPLICATE
        fresh = _embedded_batch("m-new", now, "key-new")
        assert store.submit(fresh).result(30) is WriteOutcome.STORED
        store.roll_up()
        assert store.row_counts()["points_1m"] > before["points_1m"]
    assert main(args) == 1  # a lake with devices is not a migration target


def test_the_lake_fleet_summary_is_the_embedded_one(cluster: Postgres, tmp_path: Path) -> None:
    from edgewatch.server.lake import LakeConfig, LakeStore

    now = time.time()
    batches = [_embedded_batch(f"f-{i}", now - 300 + 60 * i, f"fk-{i}") for i in range(4)]
    lake = LakeConfig(cluster.create_database(f"lake_{secrets.token_hex(4)}"), str(tmp_path / "l"))
    config = StoreConfig(maintenance=False)
    with (
        Store.open(tmp_path / "e.duckdb", config) as embedded,
        LakeStore.open_lake(lake, config, scheduler=False) as on_lake,
    ):
        summaries = []
        for store in (embedded, on_lake):
            for b in batches:
                assert store.submit(b).result(30) is WriteOutcome.STORED
            store.roll_up()
            for span in (3600, 86400):
                summaries.append(
                    store.fleet_summary(
                        start=from_unix_s(now - span),
                        end=from_unix_s(now + 60),
                        now=from_unix_s(now),
                    )
                )
    assert summaries[2:] == summaries[:2]
    assert summaries[0].devices == 4 and summaries[0].versions[0].inferences > 0
    assert summaries[0].versions[0].latency_s


def _delivered(catalog: str) -> int:
    import psycopg

    with psycopg.connect(catalog, autocommit=True) as pg:
        row = pg.execute("SELECT count(*) FROM deliveries WHERE state = 'delivered'").fetchone()
    return int(row[0]) if row else 0


def test_a_firing_alert_is_notified_once_across_a_leader_kill(
    cluster: Postgres, tmp_path: Path, sink: Sink
) -> None:
    rules = write_rules(
        tmp_path / "rules.yaml",
        {
            "route": {
                "receivers": ["hook"],
                "group_by": ["alertname", "device"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [webhook(f"{sink.url}/hook")],
            "rules": [
                {
                    "name": "DeviceOffline",
                    "detector": "missing_heartbeat",
                    "params": {"missed_intervals": 2, "export_interval_s": 1},
                    "scope": {"level": "device"},
                    "signal": "edgewatch.device.last_seen",
                    "window": "5m",
                    "interval": "1s",
                    "for": "0s",
                    "severity": "critical",
                }
            ],
        },
    )
    catalog = cluster.create_database(f"lake_{secrets.token_hex(4)}")
    data = tmp_path / "lake"
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(start_replica, catalog, data, tmp_path, "--rules", str(rules))
            for _ in range(2)
        ]
        replicas = [f.result() for f in futures]
    try:
        request = device_batch("gone", end_ns=time.time_ns(), features=1)
        assert _send(replicas[0].url, request, secrets.token_hex(8)) == 200

        def firing() -> list[dict[str, object]]:
            sent = [json.loads(r.body) for r in sink.received()]
            return [b for b in sent if b.get("status") == "firing"]

        wait_for(lambda: len(firing()) >= 1, 30.0, "the offline device's notification")
        # Kill only once the leader has recorded the notification as delivered: killed between
        # the receiver's 200 and that record, the new leader sends it again (at least once,
        # with the same delivery id in signed webhooks; docs/scale-out.md, "Not yet covered"),
        # which is not the handover this test judges.
        wait_for(lambda: _delivered(catalog) >= 1, 10.0, "the delivery recorded")
        leader_pid = lease_holder_pid(catalog)
        leader, follower = replicas if replicas[0].proc.pid == leader_pid else replicas[::-1]
        leader.kill()
        wait_for(lambda: lease_holder_pid(catalog) == follower.proc.pid, 10.0, "takeover")
        time.sleep(4.0)  # the new leader evaluates the rule several times meanwhile
        assert len(firing()) == 1  # not notified again by the new leader
        alerts = httpx.get(f"{follower.url}/api/v1/alerts", timeout=10.0).json()["alerts"]
        assert [a["state"] for a in alerts] == ["firing"]
    finally:
        for r in replicas:
            r.stop()
