"""On-device profiles per (model, version, hardware class): the newest upload replaces the last."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._time import aware_utc, naive_utc


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """The figures of one profile the server compares against, and the report they came from."""

    model_name: str
    model_version: str
    hardware_class: str
    created_at: datetime
    latency_mean_s: float
    latency_p50_s: float
    latency_p95_s: float
    latency_p99_s: float
    energy_j: float | None
    energy_source: str | None
    energy_relative_error: float | None
    accuracy: float | None
    report: dict[str, Any]


_COLUMNS = (
    "model_name, model_version, hardware_class, created_at, latency_mean_s, latency_p50_s,"
    " latency_p95_s, latency_p99_s, energy_j, energy_source, energy_relative_error, accuracy,"
    " report"
)


def _profile(row: tuple[Any, ...]) -> ModelProfile:
    return ModelProfile(
        model_name=row[0],
        model_version=row[1],
        hardware_class=row[2],
        created_at=aware_utc(row[3]),
        latency_mean_s=row[4],
        latency_p50_s=row[5],
        latency_p95_s=row[6],
        latency_p99_s=row[7],
        energy_j=row[8],
        energy_source=row[9],
        energy_relative_error=row[10],
        accuracy=row[11],
        report=json.loads(row[12]),
    )


class ProfileTable:
    """Store and read the profiles in the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def put(self, profile: ModelProfile) -> None:
        """Insert or replace the profile of its (model, version, hardware class)."""
        values = [
            profile.model_name,
            profile.model_version,
            profile.hardware_class,
            naive_utc(profile.created_at),
            profile.latency_mean_s,
            profile.latency_p50_s,
            profile.latency_p95_s,
            profile.latency_p99_s,
            profile.energy_j,
            profile.energy_source,
            profile.energy_relative_error,
            profile.accuracy,
            json.dumps(profile.report),
        ]

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute(
                "DELETE FROM model_profiles WHERE model_name = ? AND model_version = ?"
                " AND hardware_class = ?",
                values[:3],
            )
            cur.execute(
                f"INSERT INTO model_profiles ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", values
            )

        self._db.write(run)

    def list(self, model_name: str, model_version: str | None = None) -> list[ModelProfile]:
        """Profiles of a model (version), by version then hardware class."""
        sql = f"SELECT {_COLUMNS} FROM model_profiles WHERE model_name = ?"
        params = [model_name]
        if model_version is not None:
            sql += " AND model_version = ?"
            params.append(model_version)
        sql += " ORDER BY model_version, hardware_class"
        rows = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [_profile(r) for r in rows]
