"""Merged histograms over a window and selection: for detectors, features and the API.

Only the selected series' kinds are read (``_series_kinds``): a device that sends explicit
buckets never turns another device's exponential histograms into an error. Detectors get one
exponential histogram (``merged_histogram``, explicit buckets spread into it);
``query_distribution`` returns both parts as stored, with quantiles over both
(``_series.quantiles_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from edgewatch.detectors import ExpHistogram, empty, merge
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._explicit import ExplicitHistogram, as_exp_histogram
from edgewatch.server.store._explicitquery import EXPLICIT_COLUMNS, explicit_source, merge_explicit
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS
from edgewatch.server.store._premerged import premerged_source
from edgewatch.server.store._select import WindowQuery, fit, json_path
from edgewatch.server.store._series import (
    QUANTILES,
    quantiles_of,
    resolution_for_window,
    window_source,
)
from edgewatch.server.store._series_kinds import (
    HISTOGRAM_KINDS,
    AnswerKinds,
    answer_kinds,
    kinds_of,
)
from edgewatch.server.store._time import from_unix
from edgewatch.server.store._types import Distribution, Resolution, Selection


def _histogram_kinds(cur: duckdb.DuckDBPyConnection, window: WindowQuery) -> AnswerKinds:
    """Histogram kinds of the selected series and the devices left out for sending another
    kind (``answer_kinds``); ``InvalidQueryError`` when the selection holds only numeric ones."""
    if window.end <= window.start:
        raise InvalidQueryError("end must be after start")
    answer = answer_kinds(cur, window.metric, window.selection, window.attributes, histogram=True)
    if answer.kinds and not answer.kinds & HISTOGRAM_KINDS:
        raise InvalidQueryError(
            f"metric {window.metric!r} is a {', '.join(sorted(answer.kinds))} metric in this"
            " selection, not an exponential histogram or explicit-bucket one: it has no"
            " distribution"
        )
    return answer


def _kinds(cur: duckdb.DuckDBPyConnection, window: WindowQuery) -> set[str]:
    """Kinds of the series the window selects (the window's times aside)."""
    return kinds_of(cur, window.metric, window.selection, window.attributes)


def _exp_part(
    cur: duckdb.DuckDBPyConnection,
    window: WindowQuery,
    resolution: Resolution | None,
    *,
    count_devices: bool = True,
    premerged: bool = True,
) -> tuple[ExpHistogram, int, Resolution]:
    """The exponential histograms of the window merged; (histogram, devices, resolution).
    Without ``count_devices`` the count is 0 and pre-merged rows may answer."""
    res = resolution or resolution_for_window((window.end - window.start).total_seconds())
    if not count_devices:
        src, params = exp_source(cur, res, window, f"0 AS g, {HISTOGRAM_COLUMNS}", (), premerged)
        return merge_groups(cur, src, params, ["g"]).get((0,), empty()), 0, res
    src, params = window_source("exp", res, window, f"0 AS g, device_id, {HISTOGRAM_COLUMNS}")
    merged = merge_groups(cur, src, params, ["g"])
    devices_row = cur.execute(f"SELECT count(DISTINCT device_id) FROM ({src})", params).fetchone()
    devices = int(devices_row[0]) if devices_row else 0
    return merged.get((0,), empty()), devices, res


def exp_source(
    cur: duckdb.DuckDBPyConnection,
    resolution: Resolution,
    window: WindowQuery,
    columns: str,
    column_params: Sequence[object] = (),
    premerged: bool = True,
) -> tuple[str, list[object]]:
    """``window_source`` over exponential histograms, read from the rows pre-merged across
    devices when they answer the same (``_premerged``) and ``premerged`` allows it."""
    found = premerged_source(cur, resolution, window, columns, column_params) if premerged else None
    if found is not None:
        return found
    return window_source("exp", resolution, window, columns, column_params)


def _explicit_part(cur: duckdb.DuckDBPyConnection, window: WindowQuery) -> ExplicitHistogram | None:
    src, params = explicit_source(window, f"0 AS g, {EXPLICIT_COLUMNS}")
    return merge_explicit(cur, src, params, ["g"]).get((0,))


def merged_histogram(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
    resolution: Resolution | None = None,
    premerged: bool = True,
) -> ExpHistogram:
    """Every histogram point of ``metric`` in the window as one exponential histogram, for
    the detectors: explicit buckets join through ``as_exp_histogram``. Empty when the
    selection holds no histograms (a gauge's latency rule then has too few samples).
    ``premerged=False`` reads per-series rows even where pre-merged ones answer the same."""
    if end <= start:
        raise InvalidQueryError("end must be after start")
    window = WindowQuery(metric, start, end, selection, attributes)
    kinds = _kinds(cur, window)
    h, _, _ = _exp_part(cur, window, resolution, count_devices=False, premerged=premerged)
    if "histogram" in kinds:
        explicit = _explicit_part(cur, window)
        if explicit is not None:
            h = _with_explicit(h if h.count else None, explicit)
    return h


def _with_explicit(h: ExpHistogram | None, explicit: ExplicitHistogram) -> ExpHistogram:
    """``h`` (if any) merged with explicit buckets spread into an exponential histogram,
    downscaled to the query bucket limit: the one rule for joining the two kinds."""
    sketch = as_exp_histogram(explicit)
    return fit(merge(h, sketch) if h is not None else sketch)


def merged_histograms(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    by: str,
    *,
    start: datetime,
    end: datetime,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
    resolution: Resolution | None = None,
    premerged: bool = True,
) -> dict[str, ExpHistogram]:
    """``merged_histogram`` for each value of the point attribute ``by`` (each feature of
    ``ml.feature.value``, say), one query per histogram kind; values without points are
    absent. ``premerged`` as in ``merged_histogram``."""
    if end <= start:
        raise InvalidQueryError("end must be after start")
    window = WindowQuery(metric, start, end, selection, attributes)
    res = resolution or resolution_for_window((end - start).total_seconds())
    group = "json_extract_string(attrs, ?) AS g"
    src, params = exp_source(
        cur, res, window, f"{group}, {HISTOGRAM_COLUMNS}", [json_path(by)], premerged
    )
    merged = {g: h for (g,), h in merge_groups(cur, src, params, ["g"]).items()}
    if "histogram" in _kinds(cur, window):
        src, params = explicit_source(window, f"{group}, {EXPLICIT_COLUMNS}", [json_path(by)])
        for (g,), explicit in merge_explicit(cur, src, params, ["g"]).items():
            merged[g] = _with_explicit(merged.get(g), explicit)
    return {g: h for g, h in merged.items() if g is not None}


def query_distribution(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    selection: Selection,
    attributes: tuple[tuple[str, str], ...] = (),
) -> Distribution:
    """Merged histograms (exponential and explicit-bucket) with p50/p95/p99 (NaN when empty)."""
    window = WindowQuery(metric, start, end, selection, attributes)
    answer = _histogram_kinds(cur, window)
    h, devices, res = _exp_part(cur, window, None)
    explicit = None
    if "histogram" in answer.kinds:
        explicit = _explicit_part(cur, window)
        devices = _devices(cur, window, res)
    return Distribution(
        metric,
        res,
        start,
        end,
        devices,
        h,
        quantiles_of(h, explicit, QUANTILES),
        explicit,
        answer.left_out_devices,
    )


def _devices(cur: duckdb.DuckDBPyConnection, window: WindowQuery, res: Resolution) -> int:
    """Devices with histogram points of either kind in the window."""
    exp_sql, exp_params = window_source("exp", res, window, "device_id")
    hist_sql, hist_params = explicit_source(window, "device_id")
    sources: Sequence[object] = [*exp_params, *hist_params]
    row = cur.execute(
        f"SELECT count(DISTINCT device_id) FROM ({exp_sql} UNION ALL {hist_sql})", list(sources)
    ).fetchone()
    return int(row[0]) if row else 0


def histograms_by_period(
    cur: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    period_s: float,
    selection: Selection,
) -> dict[tuple[str, datetime], ExpHistogram]:
    """``merged_histogram`` per (device, period start), in one query per
    histogram kind: the rollout gate's score histogram of each device-hour. It reads the
    1-minute rollups (kept a month; the hourly ones lag ingest by up to an hour) and periods are
    aligned to the epoch, as the device-hours are."""
    if end <= start:
        raise InvalidQueryError("end must be after start")
    if period_s < 60:
        raise InvalidQueryError(f"period_s must be at least a minute, got {period_s}")
    window = WindowQuery(metric, start, end, selection)
    group = "device_id, floor(epoch({t}) / ?) * ? AS p"
    src, params = window_source(
        "exp", Resolution.MINUTE, window,
        f"{group.format(t='bucket')}, {HISTOGRAM_COLUMNS}", [period_s, period_s],
    )  # fmt: skip
    groups = merge_groups(cur, src, params, ["device_id", "p"])
    merged = {(str(d), from_unix(float(p))): h for (d, p), h in groups.items()}
    if "histogram" in _kinds(cur, window):
        src, params = explicit_source(
            window, f"{group.format(t='ts')}, {EXPLICIT_COLUMNS}", [period_s, period_s]
        )
        for (d, p), explicit in merge_explicit(cur, src, params, ["device_id", "p"]).items():
            key = (str(d), from_unix(float(p)))
            merged[key] = _with_explicit(merged.get(key), explicit)
    return merged
