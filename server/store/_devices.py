"""Device registry queries: list with filters, one device, latest readings, liveness counts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from edgewatch.server.store._errors import NotFoundError
from edgewatch.server.store._time import aware_utc, naive_utc, naive_utc_before
from edgewatch.server.store._types import (
    Device,
    DeviceStatus,
    Reading,
    Selection,
    StatusThresholds,
)

_COLUMNS = (
    "device_id, fleet, model_name, model_version, hardware, runtime, host_arch, os_type,"
    " service_name, power_sources, attributes, first_seen, last_seen, last_batch_key, clock_skew_s"
)


def status_of(last_seen: datetime, now: datetime, thresholds: StatusThresholds) -> DeviceStatus:
    """Liveness of a device last seen at ``last_seen``."""
    age = (now - last_seen).total_seconds()
    if age <= thresholds.online_s:
        return DeviceStatus.ONLINE
    if age <= thresholds.offline_s:
        return DeviceStatus.STALE
    return DeviceStatus.OFFLINE


def _device(row: tuple[Any, ...], now: datetime, thresholds: StatusThresholds) -> Device:
    last_seen = aware_utc(row[12])
    return Device(
        device_id=row[0],
        fleet=row[1],
        model_name=row[2],
        model_version=row[3],
        hardware=row[4],
        runtime=row[5],
        host_arch=row[6],
        os_type=row[7],
        service_name=row[8],
        power_sources=row[9],
        attributes=json.loads(row[10]),
        first_seen=aware_utc(row[11]),
        last_seen=last_seen,
        last_batch_key=row[13],
        clock_skew_s=row[14],
        status=status_of(last_seen, now, thresholds),
    )


def list_devices(
    cur: duckdb.DuckDBPyConnection,
    selection: Selection,
    *,
    status: DeviceStatus | None,
    now: datetime,
    thresholds: StatusThresholds,
    limit: int = 1000,
    offset: int = 0,
) -> list[Device]:
    """Devices matching the selection (and liveness ``status``), ordered by id."""
    clauses, params = ["TRUE"], []
    for column in ("device_id", "fleet", "model_name", "model_version", "hardware"):
        value = getattr(selection, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if status is DeviceStatus.ONLINE:
        clauses.append("last_seen >= ?")
        params.append(naive_utc_before(now, thresholds.online_s))
    elif status is DeviceStatus.STALE:
        clauses.append("last_seen < ? AND last_seen >= ?")
        params += [
            naive_utc_before(now, thresholds.online_s),
            naive_utc_before(now, thresholds.offline_s),
        ]
    elif status is DeviceStatus.OFFLINE:
        clauses.append("last_seen < ?")
        params.append(naive_utc_before(now, thresholds.offline_s))
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM devices WHERE {' AND '.join(clauses)}"
        " ORDER BY device_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [_device(r, now, thresholds) for r in rows]


def get_device(
    cur: duckdb.DuckDBPyConnection, device_id: str, *, now: datetime, thresholds: StatusThresholds
) -> Device:
    """One device; ``NotFoundError`` when it never reported."""
    row = cur.execute(f"SELECT {_COLUMNS} FROM devices WHERE device_id = ?", [device_id]).fetchone()
    if row is None:
        raise NotFoundError(f"device {device_id!r} not found")
    return _device(row, now, thresholds)


def latest_readings(
    cur: duckdb.DuckDBPyConnection, device_id: str, *, since: datetime
) -> list[Reading]:
    """Newest value of every gauge series the device sent since ``since``."""
    rows = cur.execute(
        "SELECT metric, attrs, arg_max(value, ts), max(ts) FROM points"
        " WHERE device_id = ? AND kind = 'gauge' AND ts >= ?"
        " GROUP BY metric, attrs ORDER BY metric, attrs",
        [device_id, naive_utc(since)],
    ).fetchall()
    return [Reading(r[0], json.loads(r[1]), float(r[2]), aware_utc(r[3])) for r in rows]


def last_seen_by_device(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, float]]:
    """(device, fleet, model name, model version, last seen in unix seconds) of every device,
    for the Prometheus gauge; absent names are ''."""
    rows = cur.execute(
        "SELECT device_id, coalesce(fleet, ''), coalesce(model_name, ''),"
        " coalesce(model_version, ''), epoch_us(last_seen) FROM devices ORDER BY device_id"
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4] / 1e6) for r in rows]


def online_by_version(
    cur: duckdb.DuckDBPyConnection, *, now: datetime, thresholds: StatusThresholds
) -> list[tuple[str, str, int]]:
    """(model name, model version, devices online) for the Prometheus gauge."""
    rows = cur.execute(
        "SELECT coalesce(model_name, ''), coalesce(model_version, ''), count(*) FROM devices"
        " WHERE last_seen >= ? GROUP BY ALL ORDER BY ALL",
        [naive_utc_before(now, thresholds.online_s)],
    ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]
