"""Exponential histograms pre-merged across devices per rollup window, for fleet queries.

A fleet-drift query over 1,000 devices reads one row per device, feature and window from the
rollups; reading those rows' bucket lists out of DuckDB was the query's floor. Each rollup
chunk therefore also merges the per-series rows it has just written (same ``seq``) per
(fleet, model, version, hardware, metric, attributes, window) into ``exp_histograms_fleet_1m``
/ ``_1h``, with the library's merge rule (``merge_groups``: ``merge_arrays(stored=True)``,
the one the query path uses, so one device's near-cap counts or out-of-range indexes are
clamped and capped exactly as a per-series query would, never an error for the whole chunk).

Rows are partial aggregates like every rollup row: a late point rolled up later appends
another pre-merged row for its window, and readers merge again. A series the rollup leaves
out (``_maintenance``'s bisection) is absent from both.

A query uses these rows (``premerged_source``) when its selection is coarser than a device
and no device's labels changed since its rows in the window were merged (``premerge_devices``
records the labels, per hour); otherwise it reads per-series rows. A raw-resolution window
reads pre-merged minutes for its whole, rolled-up minutes and raw rows for the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._select import RAW_TABLE, WindowQuery, attributes_sql, window_select
from edgewatch.server.store._time import naive_utc, utc_datetime
from edgewatch.server.store._types import Resolution

LABELS = ("fleet", "model_name", "model_version", "hardware")
"""Device labels a selection may name, besides the device itself."""
PREMERGED_TABLE = {
    Resolution.MINUTE: "exp_histograms_fleet_1m",
    Resolution.HOUR: "exp_histograms_fleet_1h",
}
_SERIES_TABLE = {Resolution.MINUTE: "exp_histograms_1m", Resolution.HOUR: "exp_histograms_1h"}
_GROUP = [*LABELS, "metric", "attrs", "bucket"]
_LABELS_OF = ", ".join(f"d.{c}" for c in LABELS)
_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        *((c, pa.string()) for c in LABELS),
        ("metric", pa.string()),
        ("attrs", pa.string()),
        ("bucket", pa.timestamp("us")),
        ("scale", pa.int32()),
        ("zero_count", pa.int64()),
        ("pos_offset", pa.int32()),
        ("pos_counts", pa.list_(pa.int64())),
        ("neg_offset", pa.int32()),
        ("neg_counts", pa.list_(pa.int64())),
        ("count", pa.int64()),
        ("sum", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
    ]
)


def premerge(cur: duckdb.DuckDBPyConnection, resolution: Resolution, seq: int) -> None:
    """Merge the per-series rollup rows of ``seq`` across devices into the pre-merged table of
    ``resolution``, and record each device's labels for the hours they cover."""
    series = _SERIES_TABLE[resolution]
    source = (
        f"SELECT {_LABELS_OF}, h.metric, h.attrs, h.bucket, h.scale, h.zero_count, h.pos_offset,"
        f" h.pos_counts, h.neg_offset, h.neg_counts, h.count, h.sum, h.min, h.max"
        f" FROM {series} h LEFT JOIN devices d ON d.device_id = h.device_id WHERE h.seq = ?"
    )
    try:
        merged = merge_groups(cur, source, [seq], _GROUP)
    except ValueError as e:  # rows the merge refuses: the rollup leaves their series out
        raise duckdb.InvalidInputException(f"cannot pre-merge rollup rows: {e}") from e
    if not merged:
        return
    rows: dict[str, list[Any]] = {name: [] for name in _SCHEMA.names}
    for key, h in merged.items():
        rows["seq"].append(seq)
        for name, value in zip(_GROUP, key, strict=True):
            rows[name].append(value)
        rows["scale"].append(h.scale)
        rows["zero_count"].append(h.zero_count)
        rows["pos_offset"].append(h.positive_offset)
        rows["pos_counts"].append(h.positive_counts)
        rows["neg_offset"].append(h.negative_offset)
        rows["neg_counts"].append(h.negative_counts)
        rows["count"].append(h.count)
        rows["sum"].append(None if math.isnan(h.sum) else h.sum)
        rows["min"].append(None if math.isnan(h.min) else h.min)
        rows["max"].append(None if math.isnan(h.max) else h.max)
    table = pa.table(rows, schema=_SCHEMA)
    cur.register("_premerged_rows", table)
    try:
        cur.execute(f"INSERT INTO {PREMERGED_TABLE[resolution]} SELECT * FROM _premerged_rows")
    finally:
        cur.unregister("_premerged_rows")
    same = " AND ".join(f"m.{c} IS NOT DISTINCT FROM n.{c}" for c in LABELS)
    cur.execute(
        f"""INSERT INTO premerge_devices
        SELECT * FROM (
            SELECT DISTINCT h.device_id, {_LABELS_OF},
                   time_bucket(INTERVAL 1 HOUR, h.bucket) AS hour
            FROM {series} h LEFT JOIN devices d ON d.device_id = h.device_id WHERE h.seq = ?
        ) n
        WHERE NOT EXISTS (
            SELECT 1 FROM premerge_devices m
            WHERE m.hour >= (SELECT min(bucket) - INTERVAL 1 HOUR FROM {series} WHERE seq = ?)
              AND m.device_id = n.device_id AND m.hour = n.hour AND {same}
        )""",
        [seq, seq],
    )


def premerged_source(
    cur: duckdb.DuckDBPyConnection,
    resolution: Resolution,
    window: WindowQuery,
    columns: str,
    column_params: Sequence[object] = (),
) -> tuple[str, list[object]] | None:
    """SELECT of ``columns`` answering exactly what ``window_source`` answers over per-series
    rows, from pre-merged rows where it can, or None when it cannot (a device selection, or a
    device whose labels changed since its rows in the window were merged).

    At the rollup resolutions a window selects whole buckets, so the pre-merged table of that
    resolution answers alone. Over raw rows, the whole minutes inside the window come from the
    1-minute pre-merged rows, and the partial minutes at its edges, and points the minute
    rollup has not reached yet (``seq`` past its watermark, read in the same statement), from
    per-series raw rows. None too when the window holds no whole minute.
    """
    if window.selection.device_id is not None:
        return None
    if resolution is Resolution.RAW:
        lo = utc_datetime(math.ceil(window.start.timestamp() / 60) * 60)
        hi = utc_datetime(math.floor(window.end.timestamp() / 60) * 60)
        if hi <= lo:
            return None
    else:
        lo, hi = naive_utc(window.start), naive_utc(window.end)
    table = PREMERGED_TABLE[resolution if resolution is not Resolution.RAW else Resolution.MINUTE]
    changed = " OR ".join(f"m.{c} IS DISTINCT FROM d.{c}" for c in LABELS)
    stale = cur.execute(
        f"""SELECT 1 FROM premerge_devices m LEFT JOIN devices d ON d.device_id = m.device_id
        WHERE m.hour >= time_bucket(INTERVAL 1 HOUR, ?::TIMESTAMP) AND m.hour < ?
          AND ({changed}) LIMIT 1""",
        [lo, hi],
    ).fetchone()
    if stale:
        return None
    clauses, params = [], []
    for column in LABELS:
        value = getattr(window.selection, column)
        if value is not None:
            clauses.append(f" AND {column} = ?")
            params.append(value)
    att, att_params = attributes_sql(window.attributes)
    sql = (
        f"SELECT {columns} FROM {table} WHERE metric = ? AND bucket >= ? AND bucket < ?"
        f"{''.join(clauses)} AND {att}"
    )
    merged = [*column_params, window.metric, lo, hi, *params, *att_params]
    if resolution is not Resolution.RAW:
        return sql, merged
    raw, raw_params = window_select(
        RAW_TABLE["exp"], "ts", window, columns, column_params, " AND temporality = 'delta'"
    )
    unrolled = (
        " AND (ts < ? OR ts >= ? OR seq > (SELECT coalesce(max(last_seq), 0) FROM rollup_state"
        " WHERE name = '1m'))"
    )
    return f"{sql} UNION ALL {raw}{unrolled}", [*merged, *raw_params, lo, hi]
