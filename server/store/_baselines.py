"""Baselines: profiled reference data per model version (uploaded or a pinned window).

Profiles hold the same shapes devices send (an exponential histogram per numeric feature,
category counts per categorical one) plus a summary for display; raw rows are never kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from edgewatch.server.store._errors import NotFoundError
from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._time import aware_utc, naive_utc


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One feature (or prediction/score) of a baseline."""

    name: str
    kind: str
    count: int
    missing: int
    mean: float | None
    p50: float | None
    p95: float | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    """A baseline without its profiles."""

    id: str
    model_name: str
    model_version: str
    device_id: str | None
    source: str
    created_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    rows: int
    features: tuple[str, ...]
    profiles: tuple[ProfileRow, ...] = field(default=())


_INFO = (
    "id, model_name, model_version, device_id, source, created_at, window_start, window_end,"
    " rows, features"
)


def _info(row: tuple[Any, ...]) -> BaselineInfo:
    return BaselineInfo(
        id=row[0],
        model_name=row[1],
        model_version=row[2],
        device_id=row[3],
        source=row[4],
        created_at=aware_utc(row[5]),
        window_start=aware_utc(row[6]),
        window_end=aware_utc(row[7]),
        rows=int(row[8]),
        features=tuple(json.loads(row[9])),
    )


def newest_for(candidates: Sequence[BaselineInfo], device_id: str | None) -> BaselineInfo | None:
    """Of a version's baselines (newest first), the device's own pinned one, else the newest
    shared one; None when neither exists."""
    own = [b for b in candidates if device_id is not None and b.device_id == device_id]
    shared = [b for b in candidates if b.device_id is None]
    chosen = own or shared
    return chosen[0] if chosen else None


class BaselineTable:
    """Create, list, read and delete baselines in the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def create(
        self,
        *,
        model_name: str,
        model_version: str,
        source: str,
        rows: int,
        features: Sequence[str],
        profiles: Sequence[ProfileRow],
        now: datetime,
        device_id: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> str:
        """Store a baseline and its profiles in one transaction; its new id."""
        baseline_id = uuid.uuid4().hex[:16]
        start, end = window if window is not None else (None, None)

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute(
                f"INSERT INTO baselines ({_INFO}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    baseline_id,
                    model_name,
                    model_version,
                    device_id,
                    source,
                    naive_utc(now),
                    naive_utc(start),
                    naive_utc(end),
                    rows,
                    json.dumps(list(features)),
                ],
            )
            for p in profiles:
                cur.execute(
                    "INSERT INTO baseline_profiles (baseline_id, name, kind, count, missing,"
                    " mean, p50, p95, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        baseline_id,
                        p.name,
                        p.kind,
                        p.count,
                        p.missing,
                        p.mean,
                        p.p50,
                        p.p95,
                        json.dumps(p.data),
                    ],
                )

        self._db.write(run)
        return baseline_id

    def list(
        self, model_name: str | None = None, model_version: str | None = None
    ) -> list[BaselineInfo]:
        """Baselines, newest first, optionally for one model (version)."""
        clauses, params = ["TRUE"], []
        if model_name is not None:
            clauses.append("model_name = ?")
            params.append(model_name)
        if model_version is not None:
            clauses.append("model_version = ?")
            params.append(model_version)
        sql = (
            f"SELECT {_INFO} FROM baselines WHERE {' AND '.join(clauses)}"
            " ORDER BY created_at DESC, id"
        )
        rows = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [_info(r) for r in rows]

    def get(self, baseline_id: str) -> BaselineInfo:
        """One baseline with its profiles (``NotFoundError`` if unknown)."""

        def read(
            cur: duckdb.DuckDBPyConnection,
        ) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
            row = cur.execute(f"SELECT {_INFO} FROM baselines WHERE id = ?", [baseline_id])
            found = row.fetchone()
            profiles = cur.execute(
                "SELECT name, kind, count, missing, mean, p50, p95, data FROM baseline_profiles"
                " WHERE baseline_id = ? ORDER BY kind, name",
                [baseline_id],
            ).fetchall()
            return found, profiles

        row, profiles = self._db.read(read)
        if row is None:
            raise NotFoundError(f"baseline {baseline_id!r} not found")
        info = _info(row)
        return BaselineInfo(
            **{k: getattr(info, k) for k in _INFO.replace(" ", "").split(",")},
            profiles=tuple(
                ProfileRow(p[0], p[1], int(p[2]), int(p[3]), p[4], p[5], p[6], json.loads(p[7]))
                for p in profiles
            ),
        )

    def latest(
        self, model_name: str, model_version: str, device_id: str | None = None
    ) -> BaselineInfo | None:
        """The newest baseline for a model version (a device's own pinned one first)."""
        chosen = newest_for(self.list(model_name, model_version), device_id)
        return None if chosen is None else self.get(chosen.id)

    def delete(self, baseline_id: str) -> None:
        """Delete a baseline and its profiles (``NotFoundError`` if unknown)."""

        def run(cur: duckdb.DuckDBPyConnection) -> int:
            cur.execute("DELETE FROM baseline_profiles WHERE baseline_id = ?", [baseline_id])
            # The deleted-row count, not RETURNING (see _alerting.remove_ack).
            row = cur.execute("DELETE FROM baselines WHERE id = ?", [baseline_id]).fetchone()
            return int(row[0]) if row else 0

        if self._db.write(run) == 0:
            raise NotFoundError(f"baseline {baseline_id!r} not found")

    def reported_features(self, model_name: str) -> dict[str, str]:
        """Feature name → ``numeric`` or ``categorical`` as devices of ``model_name`` report it."""
        sql = (
            "SELECT DISTINCT json_extract_string(s.attrs, '$.\"ml.feature.name\"'), s.metric"
            " FROM series s JOIN devices d USING (device_id) WHERE d.model_name = ?"
            " AND s.metric IN ('ml.feature.value', 'ml.feature.category.count')"
        )
        rows = self._db.read(lambda cur: cur.execute(sql, [model_name]).fetchall())
        kinds = {"ml.feature.value": "numeric", "ml.feature.category.count": "categorical"}
        return {r[0]: kinds[r[1]] for r in rows if r[0] is not None}
