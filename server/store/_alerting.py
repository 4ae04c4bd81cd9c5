"""Alerting tables: alerts, history, rule runs, silences, acks, groups and the delivery queue.

Values arrive as JSON-ready dicts (the alerting dataclasses' ``to_dict`` form) so the store
knows nothing of alerting types; reads use this thread's cursor, writes go through the
writer thread, each call one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._time import aware_utc, naive_utc, parse_naive_utc

JsonDict = dict[str, Any]


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


class AlertingTables:
    """Typed access to the alerting tables of the store."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        return self._db.read(lambda cur: cur.execute(sql, list(params)).fetchall())

    # -- alerts and rule runs -------------------------------------------------------------

    def alerts(self, rule: str | None = None) -> list[JsonDict]:
        """Current alerts (all rules, or one)."""
        where, params = ("WHERE rule = ?", [rule]) if rule is not None else ("", [])
        return [json.loads(r[0]) for r in self._rows(f"SELECT data FROM alerts {where}", params)]

    def save_evaluation(
        self,
        rule: str,
        alerts: Iterable[JsonDict],
        removed: Iterable[str],
        transitions: Iterable[JsonDict],
        at: datetime,
    ) -> None:
        """Upsert alerts, delete removed ones, append history, stamp the rule: one transaction."""
        rows = list(alerts)
        upserts = pa.table(
            {
                "fingerprint": pa.array([a["fingerprint"] for a in rows], pa.string()),
                "rule": pa.array([rule] * len(rows), pa.string()),
                "data": pa.array([_dump(a) for a in rows], pa.string()),
            }
        )
        changes = list(transitions)
        history = pa.table(
            {
                "fingerprint": pa.array([t["fingerprint"] for t in changes], pa.string()),
                "rule": pa.array([rule] * len(changes), pa.string()),
                "changed_at": pa.array(
                    [parse_naive_utc(t["at"]) for t in changes], pa.timestamp("us")
                ),
                "data": pa.array([_dump(t) for t in changes], pa.string()),
            }
        )
        gone = [*removed, *(a["fingerprint"] for a in rows)]

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            # Bulk through Arrow: a device-scope rule may carry thousands of alerts.
            if gone:
                cur.execute("DELETE FROM alerts WHERE list_contains(?, fingerprint)", [gone])
            _insert(cur, "alerts", upserts)
            _insert(cur, "alert_history", history)
            _stamp(cur, rule, at, None)

        self._db.write(run)

    def record_run(self, rule: str, at: datetime, error: str | None, *, skipped: int = 0) -> None:
        """Stamp a rule's evaluation time and last error; count evaluations skipped."""

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            _stamp(cur, rule, at, error, skipped)

        self._db.write(run)

    def rule_runs(self) -> dict[str, tuple[datetime | None, str | None, int]]:
        """Per rule: last evaluation time, last error, evaluations skipped after downtime."""
        rows = self._rows("SELECT rule, last_evaluated_at, last_error, skipped FROM rule_runs")
        return {r[0]: (None if r[1] is None else aware_utc(r[1]), r[2], int(r[3])) for r in rows}

    def history(self, fingerprint: str | None = None) -> list[JsonDict]:
        """State changes, oldest first."""
        where, params = ("WHERE fingerprint = ?", [fingerprint]) if fingerprint else ("", [])
        rows = self._rows(
            f"SELECT data FROM alert_history {where} ORDER BY changed_at, rowid", params
        )
        return [json.loads(r[0]) for r in rows]

    # -- silences, acks, groups -----------------------------------------------------------

    def put_silence(self, silence: JsonDict, created_at: datetime) -> None:
        """Insert or replace a silence by id."""
        self._db.write(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO silences (id, created_at, data) VALUES (?, ?, ?)",
                [silence["id"], naive_utc(created_at), _dump(silence)],
            )
        )

    def silences(self, silence_id: str | None = None) -> list[JsonDict]:
        """All silences oldest first, or the one with ``silence_id``."""
        where, params = ("WHERE id = ?", [silence_id]) if silence_id else ("", [])
        rows = self._rows(f"SELECT data FROM silences {where} ORDER BY created_at", params)
        return [json.loads(r[0]) for r in rows]

    def put_ack(self, ack: JsonDict) -> None:
        """Insert or replace the ack of one fingerprint."""
        self._db.write(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO acks (fingerprint, data) VALUES (?, ?)",
                [ack["fingerprint"], _dump(ack)],
            )
        )

    def remove_ack(self, fingerprint: str) -> bool:
        """Drop an ack; whether there was one."""

        def run(cur: duckdb.DuckDBPyConnection) -> bool:
            # The deleted-row count, not RETURNING: DuckDB's postgres extension (a lake keeps
            # this table in PostgreSQL) cannot return rows from a DELETE.
            row = cur.execute("DELETE FROM acks WHERE fingerprint = ?", [fingerprint]).fetchone()
            return bool(row and row[0])

        return self._db.write(run)

    def acks(self) -> list[JsonDict]:
        """All acks."""
        return [json.loads(r[0]) for r in self._rows("SELECT data FROM acks")]

    def groups(self) -> list[JsonDict]:
        """All notification groups."""
        return [json.loads(r[0]) for r in self._rows("SELECT data FROM alert_groups")]

    def save_groups(self, groups: Iterable[tuple[str, JsonDict]], removed: Iterable[str]) -> None:
        """Upsert groups by key and delete removed keys in one transaction."""
        upserts = [(key, _dump(data)) for key, data in groups]
        gone = list(removed)

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            for key in gone:
                cur.execute("DELETE FROM alert_groups WHERE key = ?", [key])
            for key, data in upserts:
                cur.execute(
                    "INSERT OR REPLACE INTO alert_groups (key, data) VALUES (?, ?)", [key, data]
                )

        self._db.write(run)


def _insert(cur: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    cur.register("_alerting_rows", rows)
    try:
        columns = ", ".join(rows.column_names)
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _alerting_rows")
    finally:
        cur.unregister("_alerting_rows")


def _stamp(
    cur: duckdb.DuckDBPyConnection, rule: str, at: datetime, error: str | None, skipped: int = 0
) -> None:
    cur.execute(
        "INSERT INTO rule_runs (rule, last_evaluated_at, last_error, skipped) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (rule) DO UPDATE SET last_evaluated_at = excluded.last_evaluated_at,"
        " last_error = excluded.last_error, skipped = rule_runs.skipped + excluded.skipped",
        [rule, naive_utc(at), error, skipped],
    )
