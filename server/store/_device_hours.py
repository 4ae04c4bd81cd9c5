"""Per device and period summaries of one model's devices: the evidence unit of the rollout gate.

A period is an hour of the fleet's time (shorter where the fleet's time is compressed, as in
the demo). Data points carry no model version, so each stored row is attributed to the version
the device ran then, from the version spans of ``device_versions`` (one row per switch, written
by the writer): a device that switched inside the window gives the old version its periods
before the switch and the new version those after, and the period of the switch is split
between the two at minute resolution.

Hourly periods read the 1-hour rollups where they hold a whole hour on one version, and the
1-minute rollups for what the hourly rollup has not reached yet and for hours with a switch,
so a verdict asked every few seconds stays cheap and still sees the last minutes. Shorter
periods read the 1-minute rollups. Either way the summaries trail ingest by up to the
minute rollup interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from edgewatch.collector import semconv
from edgewatch.server.store._histsql import KNOWN_SUM
from edgewatch.server.store._maintenance import rollup_watermark
from edgewatch.server.store._time import aware_utc, checked, naive_utc, utc_datetime

UNKNOWN_HARDWARE = "unknown"
HOUR_S = 3600.0
MINUTE_S = 60.0


@dataclass(frozen=True, slots=True)
class DeviceHour:
    """What one device measured in one period on one version (None: not reported then).

    ``complete`` periods lie wholly inside the window, before the current period and on one
    version: only they say whether the device reported at all (``reported``) and how many
    inferences it ran in a whole period.
    """

    device_id: str
    model_version: str
    hardware: str
    hour: datetime
    latency_mean_s: float | None
    energy_j: float | None
    """Mean of the device's joules-per-inference gauge over the period."""
    score_mean: float | None
    inferences: float
    errors: float
    complete: bool = False
    reported: bool = True
    labelled: float = 0.0
    """Inferences of the period whose true class arrived (late labels sit with their inference)."""
    correct: float = 0.0
    """Of those, predicted as labelled."""


@dataclass(frozen=True, slots=True)
class VersionSpan:
    """A device on one model version from ``since`` until ``until`` (None: still on it)."""

    device_id: str
    model_name: str | None
    model_version: str | None
    since: datetime
    until: datetime | None


_SPANS = """
SELECT device_id, model_name, model_version, since,
       lead(since) OVER (PARTITION BY device_id ORDER BY since) AS until,
       lag(since) OVER (PARTITION BY device_id ORDER BY since) IS NULL AS first
FROM device_versions
"""


def version_spans(
    cur: duckdb.DuckDBPyConnection, model_name: str | None = None
) -> list[VersionSpan]:
    """Every device's version spans (of ``model_name``'s devices when given), by device, time."""
    rows = cur.execute(
        f"SELECT * FROM ({_SPANS}) WHERE ? IS NULL OR model_name = ? ORDER BY device_id, since",
        [model_name, model_name],
    ).fetchall()
    return [VersionSpan(d, m, v, aware_utc(s), aware_utc(u)) for d, m, v, s, u, _ in rows]


def _rows_sql(hourly: str, minute: str, columns: str, where: str, split: bool) -> str:
    """Rows of ``minute`` only, or (``split``) rows of ``hourly`` for whole hours without a
    switch plus the ``minute`` rows the hourly rollup has not reached (``seq`` above its
    watermark) or that fall in an hour with a switch. Parameters: ``where``'s, low, high, and
    when split again ``where``'s, low, high, then the watermark."""
    minute_sql = f"SELECT {columns} FROM {minute} m WHERE {where} AND bucket >= ? AND bucket < ?"
    if not split:
        return minute_sql
    switched = "SELECT 1 FROM device_versions v WHERE v.device_id = {t}.device_id" + (
        " AND date_trunc('hour', v.since) = date_trunc('hour', {t}.bucket)"
    )
    return (
        f"SELECT {columns} FROM {hourly} h WHERE {where} AND bucket >= ? AND bucket < ?"
        f" AND NOT EXISTS ({switched.format(t='h')})"
        f" UNION ALL {minute_sql} AND (seq > ? OR EXISTS ({switched.format(t='m')}))"
    )


def _attributed(rows: str, period_s: float) -> str:
    """Each row with the version its device ran at the row's start and its period's start."""
    return f"""
SELECT r.*, s.model_version AS version, coalesce(d.hardware, '{UNKNOWN_HARDWARE}') AS hw,
       time_bucket(INTERVAL {int(period_s)} SECOND, r.bucket, TIMESTAMP '1970-01-01') AS period
FROM ({rows}) r
JOIN ({_SPANS}) s ON s.device_id = r.device_id
  AND (s.first OR r.bucket >= s.since) AND (s.until IS NULL OR r.bucket < s.until)
JOIN devices d ON d.device_id = r.device_id
WHERE s.model_name = ? AND s.model_version IS NOT NULL
"""


def _query(
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    where: str,
    where_params: list[object],
    lo: datetime,
    hi: datetime,
    period_s: float,
    model_name: str,
    select: str,
) -> list[tuple[Any, ...]]:
    hourly, minute, columns = {
        "exp": ("exp_histograms_1h", "exp_histograms_1m", "device_id, metric, bucket, sum, count"),
        "points": (
            "points_1h",
            "points_1m",
            "device_id, metric, attrs, kind, bucket, n, sum",
        ),
    }[kind]
    split = period_s >= HOUR_S
    rows = _rows_sql(hourly, minute, columns, where, split)
    params: list[object] = [*where_params, lo, hi]
    if split:
        params += [*where_params, lo, hi, rollup_watermark(cur, "1h")]
    sql = f"SELECT device_id, version, hw, period, {select} FROM ({_attributed(rows, period_s)})"
    return cur.execute(sql + " GROUP BY ALL", [*params, model_name]).fetchall()


def device_hours(
    cur: duckdb.DuckDBPyConnection,
    model_name: str,
    start: datetime,
    end: datetime,
    *,
    period_s: float = HOUR_S,
) -> list[DeviceHour]:
    """Every (device, period, version) of ``model_name`` with data from ``start``'s period to
    before ``end``, plus the complete periods in which a device on the model reported nothing.

    ``period_s`` is an hour, or a whole number of minutes below it (a compressed fleet's hour).
    """
    if period_s >= HOUR_S:
        period_s = HOUR_S
    else:
        period_s = max(MINUTE_S, math.floor(period_s / MINUTE_S) * MINUTE_S)
    step = timedelta(seconds=period_s)
    lo = _floor(start, period_s)
    hi = naive_utc(end)
    acc: dict[tuple[str, str, str, datetime], dict[str, float]] = {}
    hist = _query(
        cur,
        "exp",
        "metric IN (?, ?)",
        [semconv.INFERENCE_DURATION, semconv.PREDICTION_SCORE],
        lo,
        hi,
        period_s,
        model_name,
        f"metric, {KNOWN_SUM}, sum(count)",
    )
    for device, version, hardware, period, metric, total, count in hist:
        if count and total is not None:  # None: a point left its sum out
            acc.setdefault((device, version, hardware, period), {})[str(metric)] = float(
                total
            ) / float(count)
    points = _query(
        cur,
        "points",
        "(((metric = ? OR metric = ?) AND kind = 'delta') OR metric = ?)",
        [semconv.INFERENCE_COUNT, semconv.LABEL_COUNT, semconv.INFERENCE_ENERGY],
        lo,
        hi,
        period_s,
        model_name,
        f"metric, coalesce(json_extract_string(attrs, '$.\"{semconv.OUTCOME}\"'), ''),"
        f" json_extract_string(attrs, '$.\"{semconv.PREDICTION_CLASS}\"')"
        f" = json_extract_string(attrs, '$.\"{semconv.LABEL_CLASS}\"'),"
        " sum(sum), sum(sum) / sum(n)",
    )
    for device, version, hardware, period, metric, outcome, hit, total, mean in points:
        row = acc.setdefault((device, version, hardware, period), {})
        if metric == semconv.INFERENCE_ENERGY:
            row["energy"] = float(mean)
        elif metric == semconv.LABEL_COUNT:
            row["labelled"] = row.get("labelled", 0.0) + float(total)
            if hit:
                row["correct"] = row.get("correct", 0.0) + float(total)
        else:
            row["inferences"] = row.get("inferences", 0.0) + float(total)
            if outcome == semconv.OUTCOME_ERROR:
                row["errors"] = row.get("errors", 0.0) + float(total)
    hardware_of = dict(
        cur.execute(
            f"SELECT device_id, coalesce(hardware, '{UNKNOWN_HARDWARE}') FROM devices"
            " WHERE model_name = ?",
            [model_name],
        ).fetchall()
    )
    complete = _complete_periods(version_spans(cur, model_name), lo, _floor(end, period_s), step)
    out = []
    for key, row in sorted(acc.items()):
        device, version, hardware, period = key
        whole = (device, version, period) in complete
        out.append(_hour(device, version, hardware, period, row, whole, True))
    seen = {(d, v, p) for d, v, _, p in acc}
    for device, version, period in sorted(complete - seen):
        hardware = hardware_of.get(device, UNKNOWN_HARDWARE)
        out.append(_hour(device, version, hardware, period, {}, True, False))
    return sorted(out, key=lambda h: (h.device_id, h.hour, h.model_version))


def _floor(t: datetime, period_s: float) -> datetime:
    """``t`` as naive UTC, down to its period's start (periods aligned on the epoch)."""
    return utc_datetime(math.floor(checked(t).timestamp() / period_s) * period_s)


def _complete_periods(
    spans: Iterable[VersionSpan], lo: datetime, current: datetime, step: timedelta
) -> set[tuple[str, str, datetime]]:
    """(device, version, period start) of every period from ``lo`` to before ``current`` that
    a device spent wholly on one version (from its first report on)."""
    out = set()
    for s in spans:
        if s.model_version is None:
            continue
        since = naive_utc(s.since)
        until = current if s.until is None else min(current, naive_utc(s.until))
        t = max(lo, since)
        if t > lo:  # the period the span starts in is only partly on it
            t = lo + step * math.ceil((t - lo) / step)
        while t + step <= until:
            out.add((s.device_id, s.model_version, t))
            t += step
    return out


def _hour(
    device: str,
    version: str,
    hardware: str,
    period: datetime,
    row: dict[str, float],
    complete: bool,
    reported: bool,
) -> DeviceHour:
    return DeviceHour(
        device,
        version,
        hardware,
        aware_utc(period),
        row.get(semconv.INFERENCE_DURATION),
        row.get("energy"),
        row.get(semconv.PREDICTION_SCORE),
        row.get("inferences", 0.0),
        row.get("errors", 0.0),
        complete,
        reported,
        row.get("labelled", 0.0),
        row.get("correct", 0.0),
    )
