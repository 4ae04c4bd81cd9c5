"""Migration 011 on a file written before it: running totals stored as ``cumulative`` points
become deltas (raw and rollups), and the next cumulative export adds only what is new."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import kv, resource_attributes

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import SeriesQuery, Store, StoreConfig
from edgewatch.server.store._migrations import available

pytestmark = pytest.mark.timeout(60)
ATTRS = '{"ml.inference.outcome":"ok"}'


def _old_file(path: Path, start_s: float, totals: list[tuple[float, float]]) -> None:
    """A file at migration 010 holding ``totals`` ((time, running total)) the old way, the
    first two already rolled up."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    for mig in available():
        if mig.version < 11:
            con.execute(mig.sql)
            con.execute(
                "INSERT INTO schema_version (version, name) VALUES (?, ?)", [mig.version, mig.name]
            )
    start = datetime.fromtimestamp(start_s, UTC).replace(tzinfo=None)
    for seq, (ts_s, total) in enumerate(totals, start=1):
        ts = datetime.fromtimestamp(ts_s, UTC).replace(tzinfo=None)
        con.execute(
            "INSERT INTO points VALUES (?, 'dev-a', ?, ?, 'cumulative', ?, ?, ?)",
            [seq, semconv.INFERENCE_COUNT, ATTRS, start, ts, total],
        )
    con.execute(
        "INSERT INTO points_1m SELECT seq, device_id, metric, attrs, kind,"
        " time_bucket(INTERVAL 1 MINUTE, ts), 1, value, value, value, value, ts"
        " FROM points WHERE seq <= 2"
    )
    con.execute("INSERT INTO rollup_state VALUES ('1m', 2)")
    con.close()


def _export(start_s: float, ts_s: float, total: int) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes("dev-a"))
    metric = rm.scope_metrics.add().metrics.add(name=semconv.INFERENCE_COUNT, unit="1")
    metric.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_CUMULATIVE
    metric.sum.is_monotonic = True
    metric.sum.data_points.add(
        start_time_unix_nano=int(start_s * 1e9),
        time_unix_nano=int(ts_s * 1e9),
        as_int=total,
        attributes=[kv(semconv.OUTCOME, semconv.OUTCOME_OK)],
    )
    return request


def test_old_running_totals_become_deltas_and_the_next_export_adds_only_new(
    tmp_path: Path,
) -> None:
    now = time.time()
    minute = (now // 60 - 20) * 60
    start = minute - 600
    db = tmp_path / "old.duckdb"
    _old_file(db, start, [(minute + 10, 5), (minute + 70, 12), (minute + 130, 20)])
    with Store.open(db, StoreConfig(maintenance=False)) as store:

        def total(step: float) -> float:
            return sum(
                store.series(
                    SeriesQuery(
                        semconv.INFERENCE_COUNT,
                        from_unix_s(minute - 3600),
                        from_unix_s(now + 60),
                        step,
                    )
                ).values
            )

        assert total(1) == 20  # raw
        store.roll_up()
        assert total(60) == 20  # rebuilt minute rollups plus the newly rolled third point
        assert total(3600) == 20
        batch = convert(
            _export(start, minute + 190, 26),
            received_s=now,
            limits=IngestLimits(),
            limiter=CardinalityLimiter(max_series_per_metric=10, max_series_per_device=10),
        ).batch
        store.submit(batch).result(10)
        store.roll_up()
        assert total(1) == 26 and total(60) == 26
