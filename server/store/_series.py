"""Time-series queries over one metric, served from raw points or the 1m/1h rollups.

The kinds of the selected series decide what a query reads (``_series_kinds``): numeric
points, exponential histograms (with rollups), explicit-bucket histograms (raw), or both
histogram kinds at once; over several devices mixing histogram and numeric kinds, quantiles read
the histograms and other aggregations the numeric points, naming the devices left out. A question a kind cannot answer is an ``InvalidQueryError`` naming
why (a gauge has no quantiles; a gauge and a counter do not add up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import duckdb

from edgewatch.detectors import ExpHistogram, quantile
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._explicit import (
    ExplicitHistogram,
    exp_intervals,
    explicit_intervals,
    interval_quantile,
)
from edgewatch.server.store._explicitquery import EXPLICIT_COLUMNS, explicit_source, merge_explicit
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS, KNOWN_SUM
from edgewatch.server.store._select import WindowQuery, table_for, window_select
from edgewatch.server.store._series_kinds import answer_kinds, family_kind
from edgewatch.server.store._time import from_unix_us
from edgewatch.server.store._types import (
    Resolution,
    SeriesQuery,
    SeriesResult,
)

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
    "avg": f"{KNOWN_SUM} / sum(n)",
    "sum": KNOWN_SUM,
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


def window_source(
    kind: str,
    resolution: Resolution,
    window: WindowQuery,
    columns: str,
    column_params: Sequence[object] = (),
) -> tuple[str, list[object]]:
    """SELECT of ``columns`` (whose ``?`` take ``column_params``) over the ``window``, from the
    table holding ``kind`` at ``resolution``."""
    delta_only = (
        " AND temporality = 'delta'" if kind == "exp" and resolution is Resolution.RAW else ""
    )
    return window_select(
        table_for(kind, resolution),
        "ts" if resolution is Resolution.RAW else "bucket",
        window,
        columns,
        column_params,
        delta_only,
    )


def quantiles_of(
    exp: ExpHistogram | None, explicit: ExplicitHistogram | None, qs: dict[str, float]
) -> dict[str, float]:
    """Quantiles of merged histograms: the exponential histogram's own estimate when it is
    alone, else interpolation over every bucket of both (``_explicit``); NaN when empty."""
    if explicit is None or not explicit.count:
        if exp is None or not exp.count:
            return {name: float("nan") for name in qs}
        return {name: quantile(exp, q) for name, q in qs.items()}
    intervals = explicit_intervals(explicit)
    if exp is not None and exp.count:
        intervals += exp_intervals(exp)
    return {name: interval_quantile(intervals, q) for name, q in qs.items()}


def query_series(cur: duckdb.DuckDBPyConnection, q: SeriesQuery) -> SeriesResult:
    """Bucketed values of one metric; see ``SeriesQuery`` for the aggregation rules."""
    if q.end <= q.start:
        raise InvalidQueryError("end must be after start")
    if q.step_s <= 0:
        raise InvalidQueryError("step must be positive")
    answer = answer_kinds(
        cur, q.metric, q.selection, q.attributes, histogram=(q.agg or "") in QUANTILES
    )
    kinds = set(answer.kinds)
    kind = family_kind(q.metric, kinds)
    histogram = kind in ("exp_histogram", "histogram", "mixed_histogram")
    agg = q.agg or ("sum" if kind == "delta" else "avg")
    if agg not in SERIES_AGGS:
        raise InvalidQueryError(f"agg {agg!r} is not one of {', '.join(SERIES_AGGS)}")
    if agg in QUANTILES and not histogram and kinds:
        raise InvalidQueryError(
            f"agg {agg!r} is not available for {kind} metric {q.metric!r} in this selection:"
            " a gauge or counter has no quantiles (only histograms do)"
        )
    resolution = resolution_for_step(q.step_s)
    if not kinds:
        return SeriesResult(q.metric, kind, agg, resolution, q.step_s, (), ())
    left_out = answer.left_out_devices
    step_us = int(q.step_s * 1_000_000)
    time_col = "ts" if resolution is Resolution.RAW else "bucket"
    bucket = f"(epoch_us({time_col}) // {step_us}) * {step_us}"
    raw_bucket = f"(epoch_us(ts) // {step_us}) * {step_us}"
    window = WindowQuery(q.metric, q.start, q.end, q.selection, q.attributes)
    if agg in QUANTILES:
        result = _quantile_series(cur, q, window, kinds, kind, agg, resolution, bucket, raw_bucket)
        return replace(result, left_out_devices=left_out)
    sources: list[tuple[str, list[object]]] = []
    if "exp_histogram" in kinds:
        sources.append(
            window_source("exp", resolution, window, f"{bucket} AS b, count AS n, sum, min, max")
        )
    if "histogram" in kinds:
        sources.append(explicit_source(window, f"{raw_bucket} AS b, count AS n, sum, min, max"))
    if not histogram:
        columns = (
            f"{bucket} AS b, 1 AS n, value AS sum, value AS min, value AS max"
            if resolution is Resolution.RAW
            else f"{bucket} AS b, n, sum, min, max"
        )
        sources.append(window_source("points", resolution, window, columns))
    expr = (_HISTOGRAM_AGGS if histogram else _NUMERIC_AGGS)[agg]
    agg_params: list[object] = [q.step_s] if agg == "rate" else []
    union = " UNION ALL ".join(sql for sql, _ in sources)
    rows = cur.execute(
        f"SELECT b, {expr} FROM ({union}) GROUP BY b HAVING sum(n) > 0 ORDER BY b",
        [*agg_params, *(p for _, params in sources for p in params)],
    ).fetchall()
    return SeriesResult(
        q.metric,
        kind,
        agg,
        resolution,
        q.step_s,
        tuple(from_unix_us(int(r[0])) for r in rows),
        # NaN (null in JSON) where the buckets hold points but not the value asked for: the
        # sum, min or max a histogram may leave out (OTel SDKs omit the sum of histograms
        # that saw negative values)
        tuple(math.nan if r[1] is None else float(r[1]) for r in rows),
        left_out,
    )


def _quantile_series(
    cur: duckdb.DuckDBPyConnection,
    q: SeriesQuery,
    window: WindowQuery,
    kinds: set[str],
    kind: str,
    agg: str,
    resolution: Resolution,
    bucket: str,
    raw_bucket: str,
) -> SeriesResult:
    exp: dict[tuple[Any, ...], ExpHistogram] = {}
    explicit: dict[tuple[Any, ...], ExplicitHistogram] = {}
    if "exp_histogram" in kinds:
        src, params = window_source(
            "exp", resolution, window, f"{bucket} AS b, {HISTOGRAM_COLUMNS}"
        )
        exp = merge_groups(cur, src, params, ["b"])
    if "histogram" in kinds:
        src, params = explicit_source(window, f"{raw_bucket} AS b, {EXPLICIT_COLUMNS}")
        explicit = merge_explicit(cur, src, params, ["b"])
    times: list[datetime] = []
    values: list[float] = []
    for key in sorted({*exp, *explicit}):
        value = quantiles_of(exp.get(key), explicit.get(key), {agg: QUANTILES[agg]})[agg]
        if value == value:  # buckets without values are absent, not NaN
            times.append(from_unix_us(int(key[0])))
            values.append(value)
    return SeriesResult(q.metric, kind, agg, resolution, q.step_s, tuple(times), tuple(values))
