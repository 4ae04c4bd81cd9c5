"""Merged histograms over a window and selection: for detectors, features and the API.

Only the selected series' kinds are read (``_series_kinds``): a device that sends explicit
buckets never turns another device's exponential histograms into an error. Detectors get
the exponential part (``merged_histogram``); ``query_distribution`` returns both parts, with
quantiles over both (``_series.quantiles_of``).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from edgewatch.detectors import ExpHistogram, empty
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._explicitquery import EXPLICIT_COLUMNS, explicit_source, merge_explicit
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS
from edgewatch.server.store._select import json_path
from edgewatch.server.store._series import (
    QUANTILES,
    quantiles_of,
    resolution_for_window,
    window_source,
)
from edgewatch.server.store._series_kinds import HISTOGRAM_KINDS, kinds_of
from edgewatch.server.store._types import Distribution, Resolution, Selection


def _histogram_kinds(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...],
) -> set[str]:
    """Histogram kinds of the selected series; ``InvalidQueryError`` when they are numeric."""
    if end_s <= start_s:
        raise InvalidQueryError("end must be after start")
    kinds = kinds_of(cur, metric, selection, attributes)
    if kinds and not kinds & HISTOGRAM_KINDS:
        raise InvalidQueryError(
            f"metric {metric!r} is a {', '.join(sorted(kinds))} metric in this selection, not"
            " an exponential histogram or explicit-bucket one: it has no distribution"
        )
    return kinds


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
    """One exponential histogram merging every point of ``metric`` in the window (empty when
    the selection has none); (histogram, devices, resolution)."""
    _histogram_kinds(cur, metric, start_s, end_s, selection, attributes)
    res = resolution or resolution_for_window(end_s - start_s)
    src, params = window_source(
        "exp", res, metric, start_s, end_s, selection, attributes,
        f"0 AS g, device_id, {HISTOGRAM_COLUMNS}",
    )  # fmt: skip
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
    _histogram_kinds(cur, metric, start_s, end_s, selection, attributes)
    res = resolution or resolution_for_window(end_s - start_s)
    src, params = window_source(
        "exp", res, metric, start_s, end_s, selection, attributes,
        f"json_extract_string(attrs, ?) AS g, {HISTOGRAM_COLUMNS}", [json_path(by)],
    )  # fmt: skip
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
    """Merged histograms (exponential and explicit-bucket) with p50/p95/p99 (NaN when empty)."""
    kinds = _histogram_kinds(cur, metric, start_s, end_s, selection, attributes)
    h, devices, res = merged_histogram(
        cur, metric, start_s=start_s, end_s=end_s, selection=selection, attributes=attributes
    )
    explicit = None
    if "histogram" in kinds:
        src, params = explicit_source(
            metric, start_s, end_s, selection, attributes, f"0 AS g, {EXPLICIT_COLUMNS}"
        )
        explicit = merge_explicit(cur, src, params, ["g"]).get((0,))
        devices = _devices(cur, metric, start_s, end_s, selection, attributes, res)
    return Distribution(
        metric,
        res,
        start_s,
        end_s,
        devices,
        h,
        quantiles_of(h, explicit, QUANTILES),
        explicit,
    )


def _devices(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    start_s: float,
    end_s: float,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...],
    res: Resolution,
) -> int:
    """Devices with histogram points of either kind in the window."""
    exp_sql, exp_params = window_source(
        "exp", res, metric, start_s, end_s, selection, attributes, "device_id"
    )
    hist_sql, hist_params = explicit_source(
        metric, start_s, end_s, selection, attributes, "device_id"
    )
    sources: Sequence[object] = [*exp_params, *hist_params]
    row = cur.execute(
        f"SELECT count(DISTINCT device_id) FROM ({exp_sql} UNION ALL {hist_sql})", list(sources)
    ).fetchone()
    return int(row[0]) if row else 0
