"""Sampled rows, per-device sampling budgets and reference samples: their SQL.

Sampled rows arrive through the writer with their batch (same commit, same idempotency key);
each device keeps at most ``max_per_device`` of its newest rows. A budget is a base (set by an
operator) plus an optional temporary raise (operator or drift alert) that ends by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from edgewatch.server.store._batch import SampleRows
from edgewatch.server.store._time import aware_utc, naive_utc

_TS = pa.timestamp("us")


@dataclass(frozen=True, slots=True)
class SamplingSetting:
    """A device's sampling budget as the server hands it out (``None`` = the device's own)."""

    device_id: str
    enabled: bool
    rows_per_hour: int | None
    bytes_per_day: int | None
    expires_at: datetime | None
    """When the raise in force ends (``None``: no raise in force)."""
    reason: str | None


@dataclass(frozen=True, slots=True)
class SampleSet:
    """Rows of one side of a report: how many matched, and the (random) ones returned."""

    total: int
    features: list[dict[str, Any]]
    predictions: list[str | None]


def sample_table(seq: int, received_us: Sequence[int], parts: Sequence[SampleRows]) -> pa.Table:
    """Rows for ``samples`` in column order."""
    cols: dict[str, list[Any]] = {k: [] for k in SampleRows.__dataclass_fields__}
    received: list[int] = []
    for at, p in zip(received_us, parts, strict=True):
        for k in cols:
            cols[k].extend(getattr(p, k))
        received.extend([at] * len(p.ts_us))
    return pa.table(
        {
            "seq": pa.array([seq] * len(received), pa.int64()),
            "device_id": pa.array(cols["device_id"], pa.string()),
            "model_name": pa.array(cols["model_name"], pa.string()),
            "model_version": pa.array(cols["model_version"], pa.string()),
            "ts": pa.array(cols["ts_us"], _TS),
            "received_at": pa.array(received, _TS),
            "features": pa.array(cols["features_json"], pa.string()),
            "prediction": pa.array(cols["prediction"], pa.string()),
            "score": pa.array(cols["score"], pa.float64()),
        }
    )


def cap_per_device(cur: duckdb.DuckDBPyConnection, devices: set[str], cap: int) -> None:
    """Delete each device's oldest rows beyond ``cap``."""
    for device in sorted(devices):
        cur.execute(
            "DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples WHERE device_id = ?"
            " ORDER BY ts DESC OFFSET ?)",
            [device, cap],
        )


def delete_before(cur: duckdb.DuckDBPyConnection, before: datetime) -> None:
    """Retention: drop rows observed before ``before``."""
    cur.execute("DELETE FROM samples WHERE ts < ?", [naive_utc(before)])


def query_samples(
    cur: duckdb.DuckDBPyConnection,
    *,
    model_name: str,
    model_version: str,
    device_id: str | None,
    start: datetime,
    end: datetime,
    limit: int,
) -> SampleSet:
    """Up to ``limit`` rows chosen at random among those in the window, and how many there were."""
    where = "model_name = ? AND model_version = ? AND ts >= ? AND ts < ?"
    params: list[Any] = [model_name, model_version, naive_utc(start), naive_utc(end)]
    if device_id is not None:
        where += " AND device_id = ?"
        params.append(device_id)
    row = cur.execute(f"SELECT count(*) FROM samples WHERE {where}", params).fetchone()
    total = int(row[0]) if row else 0
    rows = cur.execute(
        f"SELECT features, prediction FROM samples WHERE {where} ORDER BY random() LIMIT ?",
        [*params, limit],
    ).fetchall()
    return SampleSet(total, [json.loads(r[0]) for r in rows], [r[1] for r in rows])


def get_setting(cur: duckdb.DuckDBPyConnection, device_id: str, now: datetime) -> SamplingSetting:
    """The budget in force for a device now (defaults when nothing was set)."""
    row = cur.execute(
        "SELECT enabled, rows_per_hour, bytes_per_day, raised_rows_per_hour,"
        " raised_bytes_per_day, raised_until, raised_reason FROM device_sampling"
        " WHERE device_id = ?",
        [device_id],
    ).fetchone()
    if row is None:
        return SamplingSetting(device_id, True, None, None, None, None)
    enabled, rows, per_day, r_rows, r_bytes, until, reason = row
    if until is not None and aware_utc(until) > now:
        return SamplingSetting(
            device_id,
            bool(enabled),
            r_rows if r_rows is not None else rows,
            r_bytes if r_bytes is not None else per_day,
            aware_utc(until),
            reason,
        )
    return SamplingSetting(device_id, bool(enabled), rows, per_day, None, None)


def set_base(
    cur: duckdb.DuckDBPyConnection,
    device_id: str,
    *,
    enabled: bool,
    rows_per_hour: int | None,
    bytes_per_day: int | None,
    now: datetime,
) -> None:
    """Set a device's lasting budget (a raise in force stays until it ends)."""
    cur.execute(
        "INSERT INTO device_sampling (device_id, enabled, rows_per_hour, bytes_per_day,"
        " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
        " enabled = excluded.enabled, rows_per_hour = excluded.rows_per_hour,"
        " bytes_per_day = excluded.bytes_per_day, updated_at = excluded.updated_at",
        [device_id, enabled, rows_per_hour, bytes_per_day, naive_utc(now)],
    )


def raise_budget(
    cur: duckdb.DuckDBPyConnection,
    device_ids: Sequence[str],
    *,
    rows_per_hour: int,
    bytes_per_day: int | None,
    until: datetime,
    reason: str,
    now: datetime,
) -> None:
    """Raise devices' budgets until ``until``; a longer or larger raise in force is kept."""
    for device in device_ids:
        current = get_setting(cur, device, now)
        if (
            current.expires_at is not None
            and current.expires_at >= until
            and (current.rows_per_hour or 0) >= rows_per_hour
        ):
            continue
        cur.execute(
            "INSERT INTO device_sampling (device_id, enabled, raised_rows_per_hour,"
            " raised_bytes_per_day, raised_until, raised_reason, updated_at)"
            " VALUES (?, TRUE, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
            " raised_rows_per_hour = excluded.raised_rows_per_hour,"
            " raised_bytes_per_day = excluded.raised_bytes_per_day,"
            " raised_until = excluded.raised_until, raised_reason = excluded.raised_reason,"
            " updated_at = excluded.updated_at",
            [
                device,
                rows_per_hour,
                bytes_per_day,
                naive_utc(until),
                reason,
                naive_utc(now),
            ],
        )


def devices_of_version(
    cur: duckdb.DuckDBPyConnection, model_name: str, model_version: str
) -> list[str]:
    """Every registered device running a model version."""
    rows = cur.execute(
        "SELECT device_id FROM devices WHERE model_name = ? AND model_version = ? ORDER BY 1",
        [model_name, model_version],
    ).fetchall()
    return [r[0] for r in rows]


def save_reference(
    cur: duckdb.DuckDBPyConnection,
    model_name: str,
    model_version: str,
    features: Sequence[dict[str, Any]],
    predictions: Sequence[str | None] | None,
    now: datetime,
) -> None:
    """Replace a model version's reference sample."""
    cur.execute(
        "DELETE FROM reference_samples WHERE model_name = ? AND model_version = ?",
        [model_name, model_version],
    )
    n = len(features)
    table = pa.table(
        {
            "model_name": pa.array([model_name] * n, pa.string()),
            "model_version": pa.array([model_version] * n, pa.string()),
            "row_index": pa.array(range(n), pa.int64()),
            "features": pa.array([json.dumps(f) for f in features], pa.string()),
            "prediction": pa.array(list(predictions) if predictions else [None] * n, pa.string()),
            "saved_at": pa.array([naive_utc(now)] * n, _TS),
        }
    )
    cur.register("_reference_rows", table)
    try:
        cur.execute("INSERT INTO reference_samples SELECT * FROM _reference_rows")
    finally:
        cur.unregister("_reference_rows")


def query_reference(
    cur: duckdb.DuckDBPyConnection, model_name: str, model_version: str, limit: int
) -> SampleSet:
    """Up to ``limit`` rows of a model version's reference sample, and how many it holds."""
    params = [model_name, model_version]
    where = "model_name = ? AND model_version = ?"
    row = cur.execute(f"SELECT count(*) FROM reference_samples WHERE {where}", params).fetchone()
    rows = cur.execute(
        f"SELECT features, prediction FROM reference_samples WHERE {where}"
        " ORDER BY random() LIMIT ?",
        [*params, limit],
    ).fetchall()
    return SampleSet(
        int(row[0]) if row else 0, [json.loads(r[0]) for r in rows], [r[1] for r in rows]
    )
