"""Rollups (1 minute, 1 hour) maintained incrementally, and retention per resolution.

Rollups read only rows committed since their watermark (the writer's ``seq``), append partial
aggregates, and move the watermark in the same transaction; readers aggregate partials again,
so a late point adds a row instead of rewriting a bucket. Rollups run in their own
transactions beside the writer (they write only rollup tables, which ingest never touches);
retention deletes run on the writer thread.

A chunk that fails (one series' rows that DuckDB cannot aggregate, such as counts whose sum
overflows) is rolled back, its failing series are found by bisection, logged and left out,
and the rest of the chunk is rolled up: one bad series never stops every device's rollups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import duckdb

from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS, merged_histograms_sql
from edgewatch.server.store._premerged import premerge
from edgewatch.server.store._samples import delete_before as delete_samples_before
from edgewatch.server.store._time import naive_utc_before
from edgewatch.server.store._types import Resolution

log = logging.getLogger(__name__)
T = TypeVar("T")
SeriesKey = tuple[str, str, str]
"""(device_id, metric, attrs) of one series."""

_SERIES_FILTER = " AND list_contains(?::VARCHAR[][], [device_id, metric, attrs]) = ?"
"""Keeps (``?`` = true) or leaves out (false) the listed series; only on the failure path."""
_NUMERIC_1M = """
INSERT INTO points_1m
SELECT ?, device_id, metric, attrs, kind, time_bucket(INTERVAL 1 MINUTE, ts) AS bucket,
       count(*), sum(value), min(value), max(value), arg_max(value, ts), max(ts)
FROM points WHERE seq > ? AND seq <= ?{filter}
GROUP BY device_id, metric, attrs, kind, bucket
"""
_NUMERIC_1H = """
INSERT INTO points_1h
SELECT ?, device_id, metric, attrs, kind, time_bucket(INTERVAL 1 HOUR, bucket) AS b,
       sum(n), sum(sum), min(min), max(max), arg_max(last, last_ts), max(last_ts)
FROM points_1m WHERE seq > ? AND seq <= ?{filter}
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


@dataclass(frozen=True, slots=True)
class _Rollup:
    """One rollup: its watermark name, source tables, and its statements, each taking (target
    seq, low seq, high seq) and, in ``filtered``, the ``_SERIES_FILTER`` parameters after them;
    then the chunk's histograms are pre-merged across devices at ``resolution``."""

    name: str
    resolution: Resolution
    sources: tuple[str, str]
    plain: tuple[str, ...]
    filtered: tuple[str, ...]


def _rollup(
    name: str,
    resolution: Resolution,
    numeric: str,
    hist: tuple[str, str, str, str, str],
    sources: tuple[str, str],
) -> _Rollup:
    """Statements of one rollup, without and with the series filter."""
    target, source, width, time_col, where = hist
    return _Rollup(
        name,
        resolution,
        sources,
        (numeric.format(filter=""), *_histograms_sql(target, source, width, time_col, where)),
        (
            numeric.format(filter=_SERIES_FILTER),
            *_histograms_sql(target, source, width, time_col, where + _SERIES_FILTER),
        ),
    )


# Only delta histograms merge; cumulative ones (plain OTel SDK defaults) stay raw.
_MINUTE = _rollup(
    "1m",
    Resolution.MINUTE,
    _NUMERIC_1M,
    ("exp_histograms_1m", "exp_histograms", "1 MINUTE", "ts", "temporality = 'delta'"),
    ("points", "exp_histograms"),
)
_HOUR = _rollup(
    "1h",
    Resolution.HOUR,
    _NUMERIC_1H,
    ("exp_histograms_1h", "exp_histograms_1m", "1 HOUR", "bucket", "TRUE"),
    ("points_1m", "exp_histograms_1m"),
)


def rollup_watermark(cur: duckdb.DuckDBPyConnection, name: str) -> int:
    """Highest source ``seq`` already in rollup ``name`` (``1m`` or ``1h``); 0 before any."""
    row = cur.execute("SELECT last_seq FROM rollup_state WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def _advance(cur: duckdb.DuckDBPyConnection, name: str, seq: int) -> None:
    # UPDATE, then INSERT when absent, rather than ON CONFLICT: a lake keeps this table in
    # DuckLake, which has no keys to conflict on.
    row = cur.execute("UPDATE rollup_state SET last_seq = ? WHERE name = ?", [seq, name]).fetchone()
    if not row or not row[0]:
        cur.execute("INSERT INTO rollup_state VALUES (?, ?)", [name, seq])


def _chunk(cur: duckdb.DuckDBPyConnection, name: str, top: int, max_groups: int) -> tuple[int, int]:
    """(low, high] seq range of rollup ``name``'s next chunk (empty once caught up)."""
    last = rollup_watermark(cur, name)
    return last, max(last, min(top, last + max_groups))


def _roll_up_chunk(
    cur: duckdb.DuckDBPyConnection,
    rollup: _Rollup,
    top: int,
    max_groups: int,
    series: Sequence[SeriesKey] | None = None,
    keep: bool = False,
) -> bool:
    """Roll up the next chunk (up to ``max_groups`` commit groups past the watermark), then
    move the watermark; True once caught up with ``top``. With ``series``, only those series
    (``keep``) or all but those are rolled up."""
    last, hi = _chunk(cur, rollup.name, top, max_groups)
    if hi <= last:
        return True
    if series is None:
        for sql in rollup.plain:
            cur.execute(sql, [hi, last, hi])
    else:
        keys = [list(k) for k in series]
        for sql in rollup.filtered:
            cur.execute(sql, [hi, last, hi, keys, keep])
    premerge(cur, rollup.resolution, hi)
    _advance(cur, rollup.name, hi)
    return hi >= top


def _transaction(
    cur: duckdb.DuckDBPyConnection,
    fn: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    commit: bool = True,
) -> T:
    """``fn(cur)`` in one transaction, committed (or rolled back when not ``commit``)."""
    cur.begin()
    try:
        result = fn(cur)
    except BaseException:
        cur.rollback()
        raise
    if commit:
        cur.commit()
    else:
        cur.rollback()
    return result


def _chunk_series(
    cur: duckdb.DuckDBPyConnection, rollup: _Rollup, top: int, max_groups: int
) -> list[SeriesKey]:
    """Every series with rows in rollup's next chunk."""
    last, hi = _chunk(cur, rollup.name, top, max_groups)
    union = " UNION ".join(
        f"SELECT DISTINCT device_id, metric, attrs FROM {t} WHERE seq > ? AND seq <= ?"
        for t in rollup.sources
    )
    rows = cur.execute(f"{union} ORDER BY ALL", [last, hi] * len(rollup.sources)).fetchall()
    return [(str(d), str(m), str(a)) for d, m, a in rows]


def _failing_series(
    cur: duckdb.DuckDBPyConnection,
    rollup: _Rollup,
    top: int,
    max_groups: int,
    series: list[SeriesKey],
) -> list[SeriesKey]:
    """The series of ``series`` whose rows alone make the chunk fail, found by bisection
    (each probe rolls up a subset and is rolled back): about 2 k log2(n) probes for k bad
    series among n."""

    def fails(subset: list[SeriesKey]) -> bool:
        try:
            _transaction(
                cur,
                lambda c: _roll_up_chunk(c, rollup, top, max_groups, subset, keep=True),
                commit=False,
            )
        except duckdb.Error:
            return True
        return False

    if not series or not fails(series):
        return []
    if len(series) == 1:
        return series
    half = len(series) // 2
    return _failing_series(cur, rollup, top, max_groups, series[:half]) + _failing_series(
        cur, rollup, top, max_groups, series[half:]
    )


def _roll_up_isolated(
    cur: duckdb.DuckDBPyConnection, rollup: _Rollup, top: int, max_groups: int
) -> bool:
    """One chunk in its own transaction; when it fails, once more without the series whose
    rows fail on their own (logged). Raises when the chunk fails for another reason."""
    try:
        return _transaction(cur, lambda c: _roll_up_chunk(c, rollup, top, max_groups))
    except duckdb.Error as e:
        error = e
    failing = _failing_series(
        cur, rollup, top, max_groups, _chunk_series(cur, rollup, top, max_groups)
    )
    if not failing:
        raise error
    log.warning(
        "rollup %s left out %d series whose rows cannot be aggregated (%s); first: %s",
        rollup.name,
        len(failing),
        error,
        failing[0],
    )
    return _transaction(
        cur, lambda c: _roll_up_chunk(c, rollup, top, max_groups, failing, keep=False)
    )


def roll_up_minutes(cur: duckdb.DuckDBPyConnection, up_to_seq: int, max_groups: int) -> bool:
    """Aggregate up to ``max_groups`` commit groups of raw rows into the 1-minute tables, in
    one transaction on ``cur``; True once caught up with ``up_to_seq``. Chunks keep each
    transaction short."""
    return _roll_up_isolated(cur, _MINUTE, up_to_seq, max_groups)


def roll_up_hours(cur: duckdb.DuckDBPyConnection, max_groups: int) -> bool:
    """Aggregate up to ``max_groups`` commit groups of 1-minute rows into the 1-hour tables,
    in one transaction on ``cur``; True once caught up with the 1-minute rollup."""
    return _roll_up_isolated(cur, _HOUR, rollup_watermark(cur, "1m"), max_groups)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept, in seconds."""

    raw_s: float
    minute_s: float
    hour_s: float
    batch_keys_s: float
    samples_s: float = 30 * 86_400.0


def enforce_retention(
    cur: duckdb.DuckDBPyConnection, retention: Retention, *, now: datetime
) -> None:
    """Delete rows older than their resolution's retention."""
    raw = naive_utc_before(now, retention.raw_s)
    minute = naive_utc_before(now, retention.minute_s)
    hour = naive_utc_before(now, retention.hour_s)
    for table in ("points", "exp_histograms", "histograms"):
        cur.execute(f"DELETE FROM {table} WHERE ts < ?", [raw])
    for table in ("points_1m", "exp_histograms_1m", "exp_histograms_fleet_1m"):
        cur.execute(f"DELETE FROM {table} WHERE bucket < ?", [minute])
    for table in ("points_1h", "exp_histograms_1h", "exp_histograms_fleet_1h"):
        cur.execute(f"DELETE FROM {table} WHERE bucket < ?", [hour])
    # Label records outlive the hourly rows they describe by at most an hour.
    cur.execute(
        "DELETE FROM premerge_devices WHERE hour < ?",
        [naive_utc_before(now, retention.hour_s + 3600)],
    )
    delete_samples_before(cur, now - timedelta(seconds=retention.samples_s))
    cur.execute(
        "DELETE FROM batch_keys WHERE received_at < ?",
        [naive_utc_before(now, retention.batch_keys_s)],
    )
