"""Shared SQL fragments: device selection, attribute filters, time bounds, resolutions."""

from __future__ import annotations

import json

import numpy as np

from edgewatch.detectors import DEFAULT_MAX_BUCKETS, ExpHistogram, downscale
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
        clauses.append("json_extract_string(attrs, ?) = ?")
        params.extend([json_path(key), value])
    return (" AND ".join(clauses) or "TRUE"), params


def json_path(key: str) -> str:
    """JSONPath selecting a top-level key that may contain dots."""
    return "$." + json.dumps(key)


RAW_TABLE = {"points": "points", "exp": "exp_histograms"}


def table_for(kind: str, resolution: Resolution) -> str:
    """Table holding ``kind`` (points or exp) at ``resolution``."""
    base = RAW_TABLE[kind]
    return base if resolution is Resolution.RAW else f"{base}_{resolution.value}"


def to_histogram(row: tuple[object, ...], max_buckets: int = DEFAULT_MAX_BUCKETS) -> ExpHistogram:
    """An ``ExpHistogram`` from a row of ``HISTOGRAM_COLUMNS``, downscaled to fit ``max_buckets``."""
    scale, zero, p_off, p_counts, n_off, n_counts, count, total, lo, hi = row
    h = ExpHistogram(
        scale=int(scale),  # type: ignore[call-overload]
        zero_count=int(zero),  # type: ignore[call-overload]
        positive_offset=int(p_off),  # type: ignore[call-overload]
        positive_counts=np.asarray(p_counts, dtype=np.int64),
        negative_offset=int(n_off),  # type: ignore[call-overload]
        negative_counts=np.asarray(n_counts, dtype=np.int64),
        count=int(count),  # type: ignore[call-overload]
        sum=float(total),  # type: ignore[arg-type]
        min=float("nan") if lo is None else float(lo),  # type: ignore[arg-type]
        max=float("nan") if hi is None else float(hi),  # type: ignore[arg-type]
    )
    shift = 0
    widest = max(h.positive_counts.size, h.negative_counts.size)
    while widest > max_buckets and h.scale - shift > -10:
        shift += 1
        widest = max(
            ((h.positive_offset + h.positive_counts.size - 1) >> shift)
            - (h.positive_offset >> shift)
            + 1,
            ((h.negative_offset + h.negative_counts.size - 1) >> shift)
            - (h.negative_offset >> shift)
            + 1,
        )
    return downscale(h, shift) if shift else h
