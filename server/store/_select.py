"""Shared SQL fragments: device selection, attribute filters, time bounds, resolutions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from edgewatch.detectors import DEFAULT_MAX_BUCKETS, MIN_SCALE, ExpHistogram, downscale
from edgewatch.server.store._time import naive_utc
from edgewatch.server.store._types import Resolution, Selection

_SELECTION_COLUMNS = ("device_id", "fleet", "model_name", "model_version", "hardware")


def selection_sql(selection: Selection) -> tuple[str, list[object]]:
    """``device_id IN (...)`` restricting rows to the selected devices (``TRUE`` for all)."""
    clauses: list[str] = []
    params: list[object] = []
    for column in _SELECTION_COLUMNS:
        value = getattr(selection, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not clauses:
        return "TRUE", []
    if clauses == ["device_id = ?"]:
        return "device_id = ?", params
    return f"device_id IN (SELECT device_id FROM devices WHERE {' AND '.join(clauses)})", params


def attributes_sql(attributes: tuple[tuple[str, str], ...]) -> tuple[str, list[object]]:
    """Every ``key = value`` must hold on the point attributes (strings compared as text)."""
    clauses: list[str] = []
    params: list[object] = []
    for key, value in attributes:
        clauses.append(attribute_clause())
        params.extend(attribute_params(key, value))
    return (" AND ".join(clauses) or "TRUE"), params


def attribute_clause(column: str = "attrs") -> str:
    """``column`` carries attribute key = value; takes ``attribute_params`` as parameters.

    Attributes are stored as canonical JSON (sorted keys, compact separators), so a plain
    substring test finds candidates cheaply and the JSON extraction confirms them.
    """
    return f"(contains({column}, ?) AND json_extract_string({column}, ?) = ?)"


def attribute_params(key: str, value: str) -> list[object]:
    """Parameters of ``attribute_clause``."""
    return [json.dumps(key) + ":" + json.dumps(value), json_path(key), value]


def json_path(key: str) -> str:
    """JSONPath selecting a top-level key that may contain dots."""
    return "$." + json.dumps(key)


RAW_TABLE = {"points": "points", "exp": "exp_histograms"}


def table_for(kind: str, resolution: Resolution) -> str:
    """Table holding ``kind`` (points or exp) at ``resolution``."""
    base = RAW_TABLE[kind]
    return base if resolution is Resolution.RAW else f"{base}_{resolution.value}"


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """One metric over the time window ``[start, end)``, a device selection and an attribute
    filter: what every SELECT over a metric's stored rows narrows to, built once per query."""

    metric: str
    start: datetime
    end: datetime
    selection: Selection
    attributes: tuple[tuple[str, str], ...] = ()


def window_select(
    table: str,
    time_column: str,
    window: WindowQuery,
    columns: str,
    column_params: Sequence[object] = (),
    condition: str = "",
) -> tuple[str, list[object]]:
    """SELECT of ``columns`` (whose ``?`` take ``column_params``) from ``table`` over the
    ``window`` on ``time_column``; ``condition`` (`` AND ...``, no parameters) narrows it
    further."""
    sel, sel_params = selection_sql(window.selection)
    att, att_params = attributes_sql(window.attributes)
    sql = (
        f"SELECT {columns} FROM {table} WHERE metric = ? AND {time_column} >= ?"
        f" AND {time_column} < ? AND {sel} AND {att}{condition}"
    )
    return sql, [
        *column_params,
        window.metric,
        naive_utc(window.start),
        naive_utc(window.end),
        *sel_params,
        *att_params,
    ]


def fit(h: ExpHistogram, max_buckets: int = DEFAULT_MAX_BUCKETS) -> ExpHistogram:
    """``h`` downscaled just enough that each side spans at most ``max_buckets`` buckets."""
    shift = 0
    while shift < h.scale - MIN_SCALE and (
        _span(h.positive_offset, h.positive_counts.size, shift) > max_buckets
        or _span(h.negative_offset, h.negative_counts.size, shift) > max_buckets
    ):
        shift += 1
    return downscale(h, shift) if shift else h


def _span(offset: int, size: int, shift: int) -> int:
    if size == 0:
        return 0
    return ((offset + size - 1) >> shift) - (offset >> shift) + 1
