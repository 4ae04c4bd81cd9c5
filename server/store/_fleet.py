"""Fleet summary: devices per model version, inference rate, error rate, latency quantiles.

Counts add the delta points of ``ml.inference.count`` (cumulative ones were turned into
deltas at ingest); latency merges exponential and explicit-bucket histograms per version.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from edgewatch.collector import semconv
from edgewatch.server.store._explicitquery import EXPLICIT_COLUMNS, merge_explicit
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS
from edgewatch.server.store._select import attribute_clause, attribute_params, table_for
from edgewatch.server.store._series import QUANTILES, quantiles_of, resolution_for_window
from edgewatch.server.store._time import naive_utc, naive_utc_before
from edgewatch.server.store._types import (
    FleetSummary,
    ModelVersionSummary,
    Resolution,
    StatusThresholds,
)

_EXPLICIT_TEMP = "fleet_summary_explicit"


def fleet_summary(
    cur: duckdb.DuckDBPyConnection,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    thresholds: StatusThresholds,
    fleet: str | None = None,
    scan_once: bool = False,
) -> FleetSummary:
    """Summary of every model version in the window (optionally one fleet). With
    ``scan_once`` the explicit histograms, which two queries read, are read once into a
    temporary table: on a lake that saves a second pass over their Parquet files."""
    res = resolution_for_window((end - start).total_seconds())
    fleet_clause, fleet_params = ("fleet = ?", [fleet]) if fleet is not None else ("TRUE", [])
    online_cut, offline_cut = (
        naive_utc_before(now, thresholds.online_s),
        naive_utc_before(now, thresholds.offline_s),
    )
    device_rows = cur.execute(
        "SELECT coalesce(model_name, ''), coalesce(model_version, ''), count(*),"
        " count(*) FILTER (last_seen >= ?),"
        " count(*) FILTER (last_seen < ? AND last_seen >= ?)"
        f" FROM devices WHERE {fleet_clause} GROUP BY ALL ORDER BY ALL",
        [online_cut, online_cut, offline_cut, *fleet_params],
    ).fetchall()
    window = [naive_utc(start), naive_utc(end)]
    devices_sel = (
        "SELECT device_id, coalesce(model_name, '') AS model_name,"
        f" coalesce(model_version, '') AS model_version FROM devices WHERE {fleet_clause}"
    )
    time_col = "ts" if res is Resolution.RAW else "bucket"
    value = "value" if res is Resolution.RAW else "sum"
    counts = {
        (r[0], r[1]): (float(r[2] or 0.0), float(r[3] or 0.0))
        for r in cur.execute(
            f"SELECT d.model_name, d.model_version, sum(p.{value}),"
            f" sum(p.{value}) FILTER {attribute_clause('p.attrs')}"
            f" FROM {table_for('points', res)} p JOIN ({devices_sel}) d USING (device_id)"
            f" WHERE p.metric = ? AND p.{time_col} >= ? AND p.{time_col} < ?"
            " AND p.kind = 'delta' GROUP BY ALL",
            [
                *attribute_params(semconv.OUTCOME, semconv.OUTCOME_ERROR),
                *fleet_params,
                semconv.INFERENCE_COUNT,
                *window,
            ],
        ).fetchall()
    }
    hist_cols = ", ".join(f"h.{c.strip()}" for c in HISTOGRAM_COLUMNS.split(","))
    latency_src = (
        f"SELECT d.model_name, d.model_version, {hist_cols}"
        f" FROM {table_for('exp', res)} h JOIN ({devices_sel}) d USING (device_id)"
        f" WHERE h.metric = ? AND h.{time_col} >= ? AND h.{time_col} < ?"
        + (" AND h.temporality = 'delta'" if res is Resolution.RAW else "")
    )
    latency = merge_groups(
        cur,
        latency_src,
        [*fleet_params, semconv.INFERENCE_DURATION, *window],
        ["model_name", "model_version"],
    )
    explicit_cols = ", ".join(f"h.{c.strip()}" for c in EXPLICIT_COLUMNS.split(","))
    explicit_src = (
        f"SELECT d.model_name, d.model_version, {explicit_cols}"
        f" FROM histograms h JOIN ({devices_sel}) d USING (device_id)"
        " WHERE h.metric = ? AND h.ts >= ? AND h.ts < ? AND h.temporality = 'delta'"
    )
    explicit_params: list[object] = [*fleet_params, semconv.INFERENCE_DURATION, *window]
    if scan_once:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {_EXPLICIT_TEMP} AS {explicit_src}", explicit_params
        )
        explicit_src, explicit_params = f"SELECT * FROM temp.main.{_EXPLICIT_TEMP}", []
    try:
        explicit = merge_explicit(
            cur, explicit_src, explicit_params, ["model_name", "model_version"]
        )
    finally:
        if scan_once:
            cur.execute(f"DROP TABLE IF EXISTS temp.main.{_EXPLICIT_TEMP}")
    window_s = (end - start).total_seconds()
    versions = []
    for name, version, total, online, stale in device_rows:
        inferences, errors = counts.get((name, version), (0.0, 0.0))
        quantiles = quantiles_of(
            latency.get((name, version)), explicit.get((name, version)), QUANTILES
        )
        versions.append(
            ModelVersionSummary(
                model_name=name or None,
                model_version=version or None,
                devices=int(total),
                online=int(online),
                stale=int(stale),
                offline=int(total - online - stale),
                inferences=int(inferences),
                inference_rate_per_s=inferences / window_s,
                error_rate=errors / inferences if inferences else None,
                latency_s=quantiles if any(v == v for v in quantiles.values()) else {},
            )
        )
    return FleetSummary(
        start=start,
        end=end,
        resolution=res,
        devices=sum(v.devices for v in versions),
        online=sum(v.online for v in versions),
        versions=tuple(versions),
    )
