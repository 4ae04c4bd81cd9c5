"""The durable delivery queue's table: every notification and each attempt at sending it.

A write returns only after its transaction committed, so an enqueued delivery survives a
crash and is sent after the restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb

from edgewatch.server.store._gateway import Gateway
from edgewatch.server.store._time import naive_utc, parse_naive_utc

JsonDict = dict[str, Any]


class DeliveryTable:
    """Deliveries as JSON dicts (``Delivery.to_dict``) keyed by id."""

    def __init__(self, db: Gateway) -> None:
        self._db = db

    def enqueue(self, delivery: JsonDict, created_at: datetime, next_at: datetime) -> bool:
        """Insert a pending delivery, superseding pending ones with its coalesce key; ``False``
        when the id already exists (nothing written)."""
        key = delivery.get("coalesce_key")

        def run(cur: duckdb.DuckDBPyConnection) -> bool:
            if cur.execute("SELECT 1 FROM deliveries WHERE id = ?", [delivery["id"]]).fetchone():
                return False
            if key is not None:
                old = cur.execute(
                    "SELECT id, data FROM deliveries WHERE coalesce_key = ? AND state = 'pending'",
                    [key],
                ).fetchall()
                for _old_id, data in old:
                    item = json.loads(data)
                    item["state"] = "superseded"
                    _put(cur, item, "superseded")
            cur.execute(
                "INSERT INTO deliveries (id, receiver, state, coalesce_key, created_at,"
                " next_attempt_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    delivery["id"],
                    delivery["receiver"],
                    delivery["state"],
                    key,
                    naive_utc(created_at),
                    naive_utc(next_at),
                    json.dumps(delivery),
                ],
            )
            return True

        return self._db.write(run)

    def update(self, delivery_id: str, change: Callable[[JsonDict], JsonDict | None]) -> bool:
        """Apply ``change`` to the stored delivery in one transaction; ``False`` if unknown.
        ``change`` returns the new dict, or ``None`` to leave it as is."""

        def run(cur: duckdb.DuckDBPyConnection) -> bool:
            row = cur.execute("SELECT data FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
            if row is None:
                return False
            new = change(json.loads(row[0]))
            if new is not None:
                _put(cur, new, str(new["state"]))
            return True

        return self._db.write(run)

    def due(self, now: datetime, receiver: str | None, limit: int) -> list[JsonDict]:
        """Pending deliveries due at ``now``, oldest first."""
        sql = "SELECT data FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
        params: list[object] = [naive_utc(now)]
        if receiver is not None:
            sql += " AND receiver = ?"
            params.append(receiver)
        sql += " ORDER BY next_attempt_at, created_at LIMIT ?"
        params.append(limit)
        return self._select(sql, params)

    def get(self, delivery_id: str) -> JsonDict | None:
        """One delivery."""
        found = self._select("SELECT data FROM deliveries WHERE id = ?", [delivery_id])
        return found[0] if found else None

    def select(
        self, state: str | None, receiver: str | None, limit: int = 10_000
    ) -> list[JsonDict]:
        """Deliveries filtered by state and receiver, oldest first."""
        clauses, params = ["TRUE"], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if receiver is not None:
            clauses.append("receiver = ?")
            params.append(receiver)
        sql = f"SELECT data FROM deliveries WHERE {' AND '.join(clauses)} ORDER BY created_at"
        return self._select(f"{sql} LIMIT ?", [*params, limit])

    def pending_receivers(self) -> list[str]:
        """Receivers that have pending deliveries."""
        rows = self._db.read(
            lambda cur: cur.execute(
                "SELECT DISTINCT receiver FROM deliveries WHERE state = 'pending'"
            ).fetchall()
        )
        return [r[0] for r in rows]

    def _select(self, sql: str, params: list[object]) -> list[JsonDict]:
        rows = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [json.loads(r[0]) for r in rows]


def _put(cur: duckdb.DuckDBPyConnection, item: JsonDict, state: str) -> None:
    cur.execute(
        "UPDATE deliveries SET state = ?, next_attempt_at = ?, data = ? WHERE id = ?",
        [state, parse_naive_utc(item["next_attempt_at"]), json.dumps(item), item["id"]],
    )
