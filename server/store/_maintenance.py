"""Rollups (1 minute, 1 hour) maintained incrementally, and retention per resolution.

Rollups read only rows committed since their watermark (the writer's ``seq``), append partial
aggregates, and move the watermark in the same transaction; readers aggregate partials again,
so a late point adds a row instead of rewriting a bucket. Rollups run in their own
transactions beside the writer (they write only rollup tables, which ingest never touches);
retention deletes run on the writer thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS, merged_histograms_sql
from edgewatch.server.store._samples import delete_before as delete_samples_before
from edgewatch.server.store._time import utc_datetime

_NUMERIC_1M = """
INSERT INTO points_1m
SELECT ?, device_id, metric, attrs, kind, time_bucket(INTERVAL 1 MINUTE, ts) AS bucket,
       count(*), sum(value), min(value), max(value), arg_max(value, ts), max(ts)
FROM points WHERE seq > ? AND seq <= ?
GROUP BY device_id, metric, attrs, kind, bucket
"""
_NUMERIC_1H = """
INSERT INTO points_1h
SELECT ?, device_id, metric, attrs, kind, time_bucket(INTERVAL 1 HOUR, bucket) AS b,
       sum(n), sum(sum), min(min), max(max), arg_max(last, last_ts), max(last_ts)
FROM points_1m WHERE seq > ? AND seq <= ?
GROUP BY device_id, metric, attrs, kind, b
"""
_GROUP = ["device_id", "metric", "attrs", "bucket"]


def _histograms_sql(
    target: str, source: str, width: str, time_col: str, where: str
) -> tuple[str, str]:
    """Two INSERTs over one chunk of ``source``, each taking (target seq, low seq, high seq).

    The first copies every histogram that is alone in its group as it is: the common case,
    since a device exports each series once per interval, and a partial row needs no merge
    (readers merge partials again). The second merges the groups of two or more, which is
    what costs: every bucket is unnested, downscaled and summed.
    """
    counted = (
        f"SELECT *, count(*) OVER (PARTITION BY device_id, metric, attrs, bucket) AS n FROM ("
        f"SELECT device_id, metric, attrs, time_bucket(INTERVAL {width}, {time_col}) AS bucket,"
        f" {HISTOGRAM_COLUMNS} FROM {source} WHERE seq > ? AND seq <= ? AND {where})"
    )
    columns = f"device_id, metric, attrs, bucket, {HISTOGRAM_COLUMNS}"
    alone = f"INSERT INTO {target} SELECT ?, {columns} FROM ({counted}) WHERE n = 1"
    shared = f"SELECT {columns} FROM ({counted}) WHERE n > 1"
    merged = f"INSERT INTO {target} SELECT ?, * FROM ({merged_histograms_sql(shared, _GROUP)})"
    return alone, merged


# Only delta histograms merge; cumulative ones (plain OTel SDK defaults) stay raw.
_HIST_1M = _histograms_sql(
    "exp_histograms_1m", "exp_histograms", "1 MINUTE", "ts", "temporality = 'delta'"
)
_HIST_1H = _histograms_sql("exp_histograms_1h", "exp_histograms_1m", "1 HOUR", "bucket", "TRUE")


def _watermark(cur: duckdb.DuckDBPyConnection, name: str) -> int:
    row = cur.execute("SELECT last_seq FROM rollup_state WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def _advance(cur: duckdb.DuckDBPyConnection, name: str, seq: int) -> None:
    cur.execute(
        "INSERT INTO rollup_state VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq",
        [name, seq],
    )


_MINUTE_SQL = (_NUMERIC_1M, *_HIST_1M)
_HOUR_SQL = (_NUMERIC_1H, *_HIST_1H)


def _roll_up_chunk(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    top: int,
    statements: tuple[str, ...],
    max_groups: int,
) -> bool:
    """Run ``statements`` (each taking target seq, low seq, high seq) over up to
    ``max_groups`` commit groups past rollup ``name``'s watermark, then move the watermark;
    True once caught up with ``top``."""
    last = _watermark(cur, name)
    if top <= last:
        return True
    hi = min(top, last + max_groups)
    for sql in statements:
        cur.execute(sql, [hi, last, hi])
    _advance(cur, name, hi)
    return hi >= top


def roll_up_minutes(cur: duckdb.DuckDBPyConnection, up_to_seq: int, max_groups: int) -> bool:
    """Aggregate up to ``max_groups`` commit groups of raw rows into the 1-minute tables;
    True once caught up with ``up_to_seq``. Chunks keep each transaction short."""
    return _roll_up_chunk(cur, "1m", up_to_seq, _MINUTE_SQL, max_groups)


def roll_up_hours(cur: duckdb.DuckDBPyConnection, max_groups: int) -> bool:
    """Aggregate up to ``max_groups`` commit groups of 1-minute rows into the 1-hour tables;
    True once caught up with the 1-minute rollup."""
    return _roll_up_chunk(cur, "1h", _watermark(cur, "1m"), _HOUR_SQL, max_groups)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept, in seconds."""

    raw_s: float
    minute_s: float
    hour_s: float
    batch_keys_s: float
    samples_s: float = 30 * 86_400.0


def enforce_retention(
    cur: duckdb.DuckDBPyConnection, retention: Retention, *, now_s: float
) -> None:
    """Delete rows older than their resolution's retention."""
    raw = utc_datetime(now_s - retention.raw_s)
    minute = utc_datetime(now_s - retention.minute_s)
    hour = utc_datetime(now_s - retention.hour_s)
    for table in ("points", "exp_histograms", "histograms"):
        cur.execute(f"DELETE FROM {table} WHERE ts < ?", [raw])
    for table in ("points_1m", "exp_histograms_1m"):
        cur.execute(f"DELETE FROM {table} WHERE bucket < ?", [minute])
    for table in ("points_1h", "exp_histograms_1h"):
        cur.execute(f"DELETE FROM {table} WHERE bucket < ?", [hour])
    delete_samples_before(cur, now_s - retention.samples_s)
    cur.execute(
        "DELETE FROM batch_keys WHERE received_at < ?",
        [utc_datetime(now_s - retention.batch_keys_s)],
    )
