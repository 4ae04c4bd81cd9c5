"""Time-series and distribution queries, served from raw points or the 1m/1h rollups."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from edgewatch.detectors import ExpHistogram, empty, quantile
from edgewatch.server.store._errors import InvalidQueryError, NotFoundError
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS
from edgewatch.server.store._select import attributes_sql, json_path, selection_sql, table_for
from edgewatch.server.store._time import utc_datetime
from edgewatch.server.store._types import (
    Distribution,
    Resolution,
    Selection,
    SeriesQuery,
    SeriesResult,
)

NUMERIC_KINDS = ("gauge", "delta", "cumulative")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_NUMERIC_AGGS = {
    "avg": "sum(sum) / sum(n)",
    "sum": "sum(sum)",
    "min": "min(min)",
    "max": "max(max)",
    "count": "sum(n)::DOUBLE",
    "rate": "sum(sum) / ?",
}
_HISTOGRAM_AGGS = {
    "avg": "sum(sum) / sum(n)",
    "sum": "sum(sum)",
    "min": "min(min)",
    "max": "max(max)",
    "count": "sum(n)::DOUBLE",
    "rate": "sum(n) / ?",
}
SERIES_AGGS = tuple(sorted({*_NUMERIC_AGGS, *QUANTILES}))


def resolution_for_step(step_s: float) -> Resolution:
    """Coarsest table whose buckets divide ``step_s``: 1h, 1m, else raw."""
    if step_s >= 3600 and step_s % 3600 == 0:
        return Resolution.HOUR
    if step_s >= 60 and step_s % 60 == 0:
        return Resolution.MINUTE
    return Resolution.RAW


def resolution_for_window(window_s: float) -> Resolution:
    """Raw up to 2 hours, 1-minute rollups up to 4 hours, hourly (whole hours) beyond.

    Devices export about once a minute, so 1-minute rollups hold as many rows as raw data;
    hourly rollups keep a day or a week of a 1,000-device fleet within the query budget.
    """
    if window_s <= 2 * 3600:
        return Resolution.RAW
    if window_s <= 4 * 3600:
        return Resolution.MINUTE
    return Resolution.HOUR


def metric_kind(cur: duckdb.DuckDBPyConnection, metric: str) -> str:
    """The stored kind of ``metric``; ``NotFoundError`` when nothing was ever stored for it."""
    row = cur.execute("SELECT kind FROM metrics WHERE metric = ?", [metric]).fetchone()
    if row is None:
        raise NotFoundError(f"metric {metric!r} not found")
    return str(row[0])


def _source(
    kind: str,
    resolution: Resolution,
    metric: str,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...],
    columns: str,
    column_params: Sequence[object] = (),
) -> tuple[str, list[object]]:
    """SELECT of ``columns`` (whose ``?`` take ``column_params``) over one metric, time window,
    selection and attribute filter."""
    table = table_for(kind, resolution)
    time_col = "ts" if resolution is Resolution.RAW else "bucket"
    sel, sel_params = selection_sql(selection)
    att, att_params = attributes_sql(attributes)
    delta_only = (
        " AND temporality = 'delta'" if kind == "exp" and resolution is Resolution.RAW else ""
    )
    sql = (
        f"SELECT {columns} FROM {table} WHERE metric = ? AND {time_col} >= ? AND {time_col} < ?"
        f" AND {sel} AND {att}{delta_only}"
    )
    return sql, [
        *column_params,
        metric,
        utc_datetime(start_s),
        utc_datetime(end_s),
        *sel_params,
        *att_params,
    ]


def query_series(cur: duckdb.DuckDBPyConnection, q: SeriesQuery) -> SeriesResult:
    """Bucketed values of one metric; see ``SeriesQuery`` for the aggregation rules."""
    if q.end_s <= q.start_s:
        raise InvalidQueryError("end must be after start")
    if q.step_s <= 0:
        raise InvalidQueryError("step must be positive")
    kind = metric_kind(cur, q.metric)
    if kind == "histogram":
        raise InvalidQueryError(
            f"metric {q.metric!r} is an explicit-bucket histogram: not served as a series"
        )
    histogram = kind == "exp_histogram"
    agg = q.agg or ("sum" if kind == "delta" else "avg")
    if agg not in SERIES_AGGS or (agg in QUANTILES and not histogram):
        raise InvalidQueryError(f"agg {agg!r} is not available for {kind} metric {q.metric!r}")
    resolution = resolution_for_step(q.step_s)
    step_us = int(q.step_s * 1_000_000)
    time_col = "ts" if resolution is Resolution.RAW else "bucket"
    bucket = f"(epoch_us({time_col}) // {step_us}) * {step_us}"
    if agg in QUANTILES:
        return _quantile_series(cur, q, agg, resolution, bucket)
    if histogram:
        columns = f"{bucket} AS b, count AS n, sum, min, max"
        aggs = _HISTOGRAM_AGGS
    elif resolution is Resolution.RAW:
        columns = f"{bucket} AS b, 1 AS n, value AS sum, value AS min, value AS max"
        aggs = _NUMERIC_AGGS
    else:
        columns = f"{bucket} AS b, n, sum, min, max"
        aggs = _NUMERIC_AGGS
    src, params = _source(
        "exp" if histogram else "points",
        resolution,
        q.metric,
        q.start_s,
        q.end_s,
        q.selection,
        q.attributes,
        columns,
    )
    expr = aggs[agg]
    agg_params: list[object] = [q.step_s] if agg == "rate" else []
    rows = cur.execute(
        f"SELECT b, {expr} FROM ({src}) GROUP BY b HAVING sum(n) > 0 ORDER BY b",
        [*agg_params, *params],
    ).fetchall()
    return SeriesResult(
        q.metric,
        kind,
        agg,
        resolution,
        q.step_s,
        tuple(r[0] / 1e6 for r in rows),
        tuple(float(r[1]) for r in rows),
    )


def _quantile_series(
    cur: duckdb.DuckDBPyConnection, q: SeriesQuery, agg: str, resolution: Resolution, bucket: str
) -> SeriesResult:
    src, params = _source(
        "exp",
        resolution,
        q.metric,
        q.start_s,
        q.end_s,
        q.selection,
        q.attributes,
        f"{bucket} AS b, {HISTOGRAM_COLUMNS}",
    )
    merged = merge_groups(cur, src, params, ["b"])
    times, values = [], []
    for (bucket_us,), h in sorted(merged.items()):
        if h.count:
            times.append(bucket_us / 1e6)
            values.append(quantile(h, QUANTILES[agg]))
    return SeriesResult(
        q.metric, "exp_histogram", agg, resolution, q.step_s, tuple(times), tuple(values)
    )


def _histogram_source(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...],
    resolution: Resolution | None,
    columns: str,
    column_params: Sequence[object] = (),
) -> tuple[str, list[object], Resolution]:
    """``_source`` over an exponential-histogram metric at the window's resolution (or
    ``resolution``); the checks every merged-histogram query makes first."""
    if end_s <= start_s:
        raise InvalidQueryError("end must be after start")
    kind = metric_kind(cur, metric)
    if kind != "exp_histogram":
        raise InvalidQueryError(
            f"metric {metric!r} is a {kind} metric, not an exponential histogram"
        )
    res = resolution or resolution_for_window(end_s - start_s)
    src, params = _source(
        "exp", res, metric, start_s, end_s, selection, attributes, columns, column_params
    )
    return src, params, res


def merged_histogram(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
    resolution: Resolution | None = None,
) -> tuple[ExpHistogram, int, Resolution]:
    """One histogram merging every point of ``metric`` in the window; (histogram, devices, resolution)."""
    src, params, res = _histogram_source(
        cur,
        metric,
        start_s,
        end_s,
        selection,
        attributes,
        resolution,
        f"0 AS g, device_id, {HISTOGRAM_COLUMNS}",
    )
    merged = merge_groups(cur, src, params, ["g"])
    devices_row = cur.execute(f"SELECT count(DISTINCT device_id) FROM ({src})", params).fetchone()
    devices = int(devices_row[0]) if devices_row else 0
    return merged.get((0,), empty()), devices, res


def merged_histograms(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    by: str,
    *,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
    resolution: Resolution | None = None,
) -> dict[str, ExpHistogram]:
    """``merged_histogram`` for each value of the point attribute ``by`` (each feature of
    ``ml.feature.value``, say), in one query; values without points in the window are absent."""
    src, params, _ = _histogram_source(
        cur,
        metric,
        start_s,
        end_s,
        selection,
        attributes,
        resolution,
        f"json_extract_string(attrs, ?) AS g, {HISTOGRAM_COLUMNS}",
        [json_path(by)],
    )
    merged = merge_groups(cur, src, params, ["g"])
    return {g: h for (g,), h in merged.items() if g is not None}


def query_distribution(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
) -> Distribution:
    """Merged histogram with p50/p95/p99 (NaN quantiles when there is no data)."""
    h, devices, res = merged_histogram(
        cur, metric, start_s=start_s, end_s=end_s, selection=selection, attributes=attributes
    )
    return Distribution(
        metric,
        res,
        start_s,
        end_s,
        devices,
        h,
        {name: quantile(h, q) for name, q in QUANTILES.items()},
    )
