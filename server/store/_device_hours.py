"""Per device and hour summaries of one model's devices: the evidence unit of the rollout gate.

Read from the 1-hour rollups (one partial row per device, series and hour, merged here), so a
verdict asked every few seconds stays cheap; they trail ingest by up to the hourly rollup
interval (5 minutes by default).

A device's hours are attributed to the model version the device reports now (``devices``
holds one version per device); a device that changed version inside the window is counted
under its new version for the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from edgewatch.collector import semconv
from edgewatch.server.store._time import aware_utc, naive_utc

UNKNOWN_HARDWARE = "unknown"


@dataclass(frozen=True, slots=True)
class DeviceHour:
    """What one device measured in one hour (None: not reported that hour)."""

    device_id: str
    model_version: str
    hardware: str
    hour: datetime
    latency_mean_s: float | None
    energy_j: float | None
    """Mean of the device's joules-per-inference gauge over the hour."""
    score_mean: float | None
    inferences: float
    errors: float


_HISTOGRAMS = f"""
SELECT h.device_id, d.model_version, coalesce(d.hardware, '{UNKNOWN_HARDWARE}'),
       h.bucket AS hour, h.metric, sum(h.sum), sum(h.count)
FROM exp_histograms_1h h JOIN devices d USING (device_id)
WHERE d.model_name = ? AND h.metric IN (?, ?)
  AND h.bucket >= ? AND h.bucket < ? AND d.model_version IS NOT NULL
GROUP BY ALL
"""

_POINTS = f"""
SELECT p.device_id, d.model_version, coalesce(d.hardware, '{UNKNOWN_HARDWARE}'),
       p.bucket AS hour, p.metric,
       coalesce(json_extract_string(p.attrs, '$."{semconv.OUTCOME}"'), ''),
       sum(p.sum), sum(p.sum) / sum(p.n)
FROM points_1h p JOIN devices d USING (device_id)
WHERE d.model_name = ? AND d.model_version IS NOT NULL AND p.bucket >= ? AND p.bucket < ?
  AND ((p.metric = ? AND p.kind = 'delta') OR p.metric = ?)
GROUP BY ALL
"""


def device_hours(
    cur: duckdb.DuckDBPyConnection, model_name: str, start: datetime, end: datetime
) -> list[DeviceHour]:
    """Every (device, hour) of ``model_name`` with data in the hours from ``start``'s to before
    ``end``."""
    lo = naive_utc(start).replace(minute=0, second=0, microsecond=0)
    hi = naive_utc(end)
    acc: dict[tuple[str, str, str, datetime], dict[str, float]] = {}
    hist = cur.execute(
        _HISTOGRAMS,
        [model_name, semconv.INFERENCE_DURATION, semconv.PREDICTION_SCORE, lo, hi],
    ).fetchall()
    for device, version, hardware, hour, metric, total, count in hist:
        if count:
            acc.setdefault((device, version, hardware, hour), {})[metric] = total / count
    points = cur.execute(
        _POINTS, [model_name, lo, hi, semconv.INFERENCE_COUNT, semconv.INFERENCE_ENERGY]
    ).fetchall()
    for device, version, hardware, hour, metric, outcome, total, mean in points:
        row = acc.setdefault((device, version, hardware, hour), {})
        if metric == semconv.INFERENCE_ENERGY:
            row["energy"] = mean
        else:
            row["inferences"] = row.get("inferences", 0.0) + total
            if outcome == semconv.OUTCOME_ERROR:
                row["errors"] = row.get("errors", 0.0) + total
    return [
        DeviceHour(
            device,
            version,
            hardware,
            aware_utc(hour),
            row.get(semconv.INFERENCE_DURATION),
            row.get("energy"),
            row.get(semconv.PREDICTION_SCORE),
            row.get("inferences", 0.0),
            row.get("errors", 0.0),
        )
        for (device, version, hardware, hour), row in sorted(acc.items())
    ]
