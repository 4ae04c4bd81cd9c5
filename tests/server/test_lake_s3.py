"""A lake whose data path is an s3:// URL: a real replica (real PostgreSQL catalog, real
server process) writes its Parquet files through DuckDB's httpfs to an S3-compatible store
(moto's S3 server on loopback) and answers queries from them; the files are in the bucket,
not on local disk. Settings come from the standard AWS environment variables."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lake_cluster import Postgres, postgres, start_replica, unavailable
from live_server import free_port
from otlp_wire import collector_body, collector_headers, device_batch, point_count

REASON = unavailable()
try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError:  # the dev extra pins moto[server]
    REASON = REASON or "moto[server] (dev extra) is not installed"
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(120)]

BUCKET = "edgewatch-lake"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "edgewatch-test",
    "AWS_SECRET_ACCESS_KEY": "edgewatch-test-secret",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """An S3-compatible server on loopback with one empty bucket; yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with postgres() as pg:
        yield pg


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_REGION"],
    )


def test_a_replica_on_an_s3_data_path_stores_parquet_in_the_bucket_and_answers_from_it(
    s3: str, cluster: Postgres, tmp_path: Path
) -> None:
    catalog = cluster.create_database(f"lake_{secrets.token_hex(4)}")
    data_path = f"s3://{BUCKET}/fleet-a/"
    replica = start_replica(
        catalog, data_path, tmp_path, env={**CREDENTIALS, "AWS_ENDPOINT_URL": s3}
    )
    try:
        now_ns = time.time_ns()
        batches = {f"s3-dev-{i}": device_batch(f"s3-dev-{i}", end_ns=now_ns) for i in range(3)}
        for request in batches.values():
            r = httpx.post(
                f"{replica.url}/v1/metrics",
                content=collector_body(request),
                headers=collector_headers(None, secrets.token_hex(8)),
                timeout=30.0,
            )
            assert r.status_code == 200, r.text
        r = httpx.get(f"{replica.url}/api/v1/devices", params={"limit": 100}, timeout=30.0)
        r.raise_for_status()
        body = r.json()
        items = body["devices"] if isinstance(body, dict) else body
        assert {d["device_id"] for d in items} == set(batches)

        # Rows read back through the replica come from the bucket's Parquet files.
        from edgewatch.server.lake import LakeConfig, connect
        from edgewatch.server.lake._connect import search

        env = {**CREDENTIALS, "AWS_ENDPOINT_URL": s3}
        con = search(connect(LakeConfig(catalog, data_path), env))
        try:
            stored = dict(
                con.execute(
                    "SELECT device_id, count(*) FROM (SELECT device_id FROM points UNION ALL"
                    " SELECT device_id FROM exp_histograms) GROUP BY 1"
                ).fetchall()
            )
            files = [
                str(f[0])
                for f in con.execute("FROM ducklake_list_files('lake', 'points')").fetchall()
            ]
        finally:
            con.close()
        assert stored == {d: point_count(req) for d, req in batches.items()}
        assert files and all(f.startswith(data_path) for f in files)
        listed = _client(s3).list_objects_v2(Bucket=BUCKET, Prefix="fleet-a/")
        keys = {o["Key"] for o in listed.get("Contents", [])}
        assert {f.removeprefix(f"s3://{BUCKET}/") for f in files} <= keys
        assert not any(tmp_path.rglob("*.parquet"))
    finally:
        replica.stop()


def test_a_missing_bucket_or_wrong_endpoint_stops_the_replica_at_start(s3: str) -> None:
    from edgewatch.server.lake import LakeConfig, connect
    from edgewatch.server.store import StoreError

    # The data path is checked before the catalog is touched: no PostgreSQL needed here.
    lake = LakeConfig("postgresql://edgewatch@127.0.0.1:1/none", "s3://no-such-bucket/lake/")
    with pytest.raises(StoreError, match=r"cannot list the data path s3://no-such-bucket/lake/"):
        connect(lake, {**CREDENTIALS, "AWS_ENDPOINT_URL": s3})
    with pytest.raises(StoreError, match="AWS_SECRET_ACCESS_KEY not set"):
        connect(lake, {"AWS_ACCESS_KEY_ID": "x", "AWS_ENDPOINT_URL": s3})


def test_compaction_merges_the_bucket_s_files_and_keeps_every_row(
    s3: str, cluster: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
    from edgewatch.server.lake import LakeConfig, LakeStore
    from edgewatch.server.store import StoreConfig, WriteOutcome

    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3}.items():
        monkeypatch.setenv(name, value)
    lake = LakeConfig(cluster.create_database(f"lake_{secrets.token_hex(4)}"), f"s3://{BUCKET}/c/")
    limiter = CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000)
    with LakeStore.open_lake(lake, StoreConfig(maintenance=False), scheduler=False) as store:
        for i in range(3):  # one group each: three files per table
            request = device_batch(f"c-{i}", end_ns=time.time_ns(), features=2)
            batch = convert(
                request, received_s=time.time(), limits=IngestLimits(), limiter=limiter,
                batch_key=f"ck-{i}",
            ).batch  # fmt: skip
            assert store.submit(batch).result(30) is WriteOutcome.STORED

        def current_files() -> list[str]:
            rows = store._db.read(
                lambda cur: cur.execute("FROM ducklake_list_files('lake', 'points')").fetchall()
            )
            return [str(r[0]) for r in rows]

        before, counts = current_files(), store.row_counts()
        store.compact()
        after = current_files()
        assert len(before) == 3 and len(after) == 1
        assert store.row_counts()["points"] == counts["points"]
    listed = _client(s3).list_objects_v2(Bucket=BUCKET, Prefix="c/")
    assert after[0].removeprefix(f"s3://{BUCKET}/") in {o["Key"] for o in listed["Contents"]}
