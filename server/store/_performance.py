"""Reads for model performance: label counts (confusion cells), regression error sums and
inference counts per time bucket and per group (device or model version).

Label points carry the interval of the inference they belong to, so a label that arrived hours
late sits in the window of its inference here, like any other delta point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgewatch.collector import semconv
from edgewatch.server.store._errors import InvalidQueryError
from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._select import json_path, selection_sql
from edgewatch.server.store._time import naive_utc, unix_us
from edgewatch.server.store._types import Selection

GROUPS = ("none", "device", "version")
"""What rows are grouped by: nothing, the device, or the device's model version."""
_GROUP_SQL = {
    "none": "''",
    "device": "p.device_id",
    "version": "coalesce(d.model_version, '')",
}


@dataclass(frozen=True, slots=True)
class ConfusionCell:
    """Labelled predictions of one (group, time bucket, predicted, actual) cell."""

    group: str
    bucket: int
    predicted: str
    actual: str
    count: int


@dataclass(frozen=True, slots=True)
class GroupCount:
    """A sum for one (group, time bucket)."""

    group: str
    bucket: int
    value: float


@dataclass(frozen=True, slots=True)
class ErrorSums:
    """Regression label sums of one (group, time bucket): n, Σe, Σ|e|, Σe²."""

    group: str
    bucket: int
    count: int
    error_sum: float
    abs_error_sum: float
    squared_error_sum: float


class PerformanceReader:
    """Label and inference sums over a window cut into ``step_s`` buckets from ``start``."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def _sums(
        self,
        table: str,
        value: str,
        metric: str,
        keys: tuple[str, ...],
        group: str,
        start: datetime,
        end: datetime,
        step_s: float,
        selection: Selection,
    ) -> list[tuple[Any, ...]]:
        if group not in _GROUP_SQL:
            raise InvalidQueryError(f"group must be one of {GROUPS}, got {group!r}")
        if not (end > start and step_s > 0):
            raise InvalidQueryError("end must be after start and step positive")
        sel, sel_params = selection_sql(selection)
        key_cols = "".join(f", json_extract_string(p.attrs, ?) AS k{i}" for i in range(len(keys)))
        join = " LEFT JOIN devices d ON d.device_id = p.device_id" if group == "version" else ""
        sql = (
            f"SELECT {_GROUP_SQL[group]} AS g,"
            " CAST(floor((epoch_us(p.ts) - ?) / ?) AS BIGINT) AS b"
            f"{key_cols}, {value}"
            f" FROM (SELECT * FROM {table} WHERE metric = ? AND ts >= ? AND ts < ? AND {sel}) p"
            f"{join} GROUP BY ALL"
        )
        params: list[object] = [
            unix_us(start),
            step_s * 1e6,
            *(json_path(k) for k in keys),
            metric,
            naive_utc(start),
            naive_utc(end),
            *sel_params,
        ]
        return self._db.read(lambda cur: cur.execute(sql, params).fetchall())

    def confusion(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[ConfusionCell]:
        """Label counts by predicted × actual class."""
        rows = self._sums(
            "points",
            "sum(p.value)",
            semconv.LABEL_COUNT,
            (semconv.PREDICTION_CLASS, semconv.LABEL_CLASS),
            group,
            start,
            end,
            step_s,
            selection,
        )
        return [
            ConfusionCell(str(g), int(b), str(pr), str(ac), round(v))
            for g, b, pr, ac, v in rows
            if pr is not None and ac is not None and v
        ]

    def inferences(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[GroupCount]:
        """Inferences (every outcome) per bucket: the denominator of label coverage."""
        rows = self._sums(
            "points",
            "sum(p.value)",
            semconv.INFERENCE_COUNT,
            (),
            group,
            start,
            end,
            step_s,
            selection,
        )
        return [GroupCount(str(g), int(b), float(v)) for g, b, v in rows]

    def errors(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[ErrorSums]:
        """Regression error sums per bucket (from the raw error histograms and squared sums)."""
        args = (start, end, step_s, selection)
        signed = self._sums(
            "exp_histograms",
            # points that left their sum out (optional in OTLP) count in neither
            "sum(p.count) FILTER (WHERE p.sum IS NOT NULL), sum(p.sum)",
            semconv.PREDICTION_ERROR,
            (),
            group,
            *args,
        )
        absolute = self._sums(
            "exp_histograms", "sum(p.sum)", semconv.PREDICTION_ABS_ERROR, (), group, *args
        )
        squared = self._sums(
            "points", "sum(p.value)", semconv.PREDICTION_SQUARED_ERROR, (), group, *args
        )
        abs_by = {(g, b): float(v) for g, b, v in absolute if v is not None}
        sq_by = {(g, b): float(v) for g, b, v in squared}
        return [
            ErrorSums(
                str(g),
                int(b),
                int(n),
                float(s),
                abs_by.get((g, b), 0.0),
                sq_by.get((g, b), 0.0),
            )
            for g, b, n, s in signed
            if n
        ]

    def members(self, selection: Selection) -> list[tuple[str, str | None, str | None]]:
        """(device, model name, model version) of every selected device."""
        sel, params = selection_sql(selection)
        sql = f"SELECT device_id, model_name, model_version FROM devices WHERE {sel} ORDER BY device_id"
        rows = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [(str(r[0]), r[1], r[2]) for r in rows]
