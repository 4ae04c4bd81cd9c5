"""Detector results over time: one row per rule, scope member, feature and window.

The scheduler writes every evaluation's results (bulk, through Arrow) so the dashboard can
draw drift scores over time; ``GET /api/v1/drift`` reads them back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._time import aware_utc, naive_utc

_TS = pa.timestamp("us")


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """One detector result for one scope member (and feature) over one window."""

    rule: str
    detector: str
    window_start: datetime
    window_end: datetime
    scope: str
    device_id: str | None
    fleet: str | None
    model_name: str | None
    model_version: str | None
    feature: str | None
    method: str
    score: float | None
    threshold: float | None
    verdict: str
    explanation: str
    baseline_id: str | None = None


_FIELDS: tuple[str, ...] = tuple(EvaluationRow.__slots__)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _table(rows: Sequence[EvaluationRow]) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for name in _FIELDS:
        values = [getattr(r, name) for r in rows]
        if name in ("window_start", "window_end"):
            cols[name] = pa.array([naive_utc(v) for v in values], _TS)
        elif name in ("score", "threshold"):
            cols[name] = pa.array([_finite(v) for v in values], pa.float64())
        else:
            cols[name] = pa.array(values, pa.string())
    return pa.table(cols)


class EvaluationTable:
    """Append and query evaluation results in the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def append(self, rows: Sequence[EvaluationRow]) -> None:
        """Store ``rows`` in one transaction (committed on return)."""
        if not rows:
            return
        table = _table(rows)

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            cur.register("_evaluation_rows", table)
            try:
                cur.execute(
                    f"INSERT INTO evaluations ({', '.join(_FIELDS)})"
                    f" SELECT {', '.join(_FIELDS)} FROM _evaluation_rows"
                )
            finally:
                cur.unregister("_evaluation_rows")

        self._db.write(run)

    def prune(self, before: datetime) -> None:
        """Delete results whose window ended before ``before`` (retention)."""
        self._db.write(
            lambda cur: cur.execute(
                "DELETE FROM evaluations WHERE window_end < ?", [naive_utc(before)]
            )
        )

    def query(
        self,
        *,
        start: datetime,
        end: datetime,
        model_name: str | None = None,
        model_version: str | None = None,
        device_id: str | None = None,
        feature: str | None = None,
        rule: str | None = None,
        limit: int = 10_000,
    ) -> list[EvaluationRow]:
        """Results whose window ends in ``[start, end]``, oldest first."""
        clauses = ["window_end >= ?", "window_end <= ?"]
        params: list[object] = [naive_utc(start), naive_utc(end)]
        for column, value in (
            ("model_name", model_name),
            ("model_version", model_version),
            ("device_id", device_id),
            ("feature", feature),
            ("rule", rule),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = (
            f"SELECT {', '.join(_FIELDS)} FROM evaluations WHERE {' AND '.join(clauses)}"
            " ORDER BY window_end, rule, device_id NULLS FIRST, feature LIMIT ?"
        )
        rows = self._db.read(lambda cur: cur.execute(sql, [*params, limit]).fetchall())
        out = []
        for row in rows:
            data = dict(zip(_FIELDS, row, strict=True))
            data["window_start"] = aware_utc(data["window_start"])
            data["window_end"] = aware_utc(data["window_end"])
            out.append(EvaluationRow(**data))
        return out
