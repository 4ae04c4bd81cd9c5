"""What a device says it lost: the newest drop totals its collector reported.

The collector keeps cumulative drop counters on the device (surviving restarts and lost
batches) and sends them as gauges with every batch once something was lost; the newest batch
holds the newest totals, so this reads the points of the newest batch that carried them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from edgewatch.collector import semconv
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._time import aware_utc, from_unix

_METRICS = (semconv.DROPPED_TOTAL, semconv.BATCHES_DROPPED_TOTAL, semconv.LAST_DROP)


@dataclass(frozen=True, slots=True)
class DeviceDrops:
    """Cumulative losses of one device as of its newest report."""

    inferences: dict[str, int]
    """Inferences lost on the device by reason."""
    batches: dict[str, int]
    """Batches lost on the device by reason."""
    last_drop: datetime | None
    """When the device last lost something (its own clock; ``None`` when it sent no valid time)."""
    reported: datetime
    """Point time of the batch that carried these totals (the device's clock)."""


def device_drops(cur: duckdb.DuckDBPyConnection, device_id: str) -> DeviceDrops | None:
    """The device's newest drop totals; ``None`` when it never reported a loss."""
    rows = cur.execute(
        "WITH newest AS (SELECT seq, ts FROM points WHERE device_id = ? AND metric IN (?, ?, ?)"
        " ORDER BY seq DESC, ts DESC LIMIT 1)"
        " SELECT p.metric, p.attrs, p.value, p.ts FROM points p JOIN newest USING (seq, ts)"
        " WHERE p.device_id = ? AND p.metric IN (?, ?, ?)",
        [device_id, *_METRICS, device_id, *_METRICS],
    ).fetchall()
    if not rows:
        return None
    inferences: dict[str, int] = {}
    batches: dict[str, int] = {}
    last_drop = None
    for metric, attrs, value, _ in rows:
        reason = str(json.loads(attrs).get(semconv.REASON, "unknown"))
        if metric == semconv.DROPPED_TOTAL:
            inferences[reason] = int(value)
        elif metric == semconv.BATCHES_DROPPED_TOTAL:
            batches[reason] = int(value)
        else:
            last_drop = _instant(float(value))
    return DeviceDrops(inferences, batches, last_drop, aware_utc(rows[0][3]))


def _instant(unix_s: float) -> datetime | None:
    """The device's unix-seconds gauge as an instant; ``None`` when no datetime holds it."""
    try:
        return from_unix(unix_s)
    except InvalidQueryError:
        return None
