"""The lake's schema, derived from the embedded store's migrations rather than written twice.

The numbered DuckDB migrations are applied to an in-memory database; each resulting table is
then created either in DuckLake (the append-heavy tables, without keys, which DuckLake lacks)
or in PostgreSQL (the small transactional ones, with their primary keys, plus keys on the
registry tables the single embedded writer kept unique by itself). Three tables of the
replica protocol (commit groups, batch claims, schema version) live in PostgreSQL only, and
a trigger on DuckLake's own catalog (``_claims.COMMIT_DDL``) commits each ingest group.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import psycopg

from edgewatch.server.lake._claims import COMMIT_DDL
from edgewatch.server.lake._connect import LAKE, PG
from edgewatch.server.store import StoreError
from edgewatch.server.store._migrations import available, migrate

LAKE_TABLES = frozenset(
    {
        "points",
        "exp_histograms",
        "histograms",
        "points_1m",
        "points_1h",
        "exp_histograms_1m",
        "exp_histograms_1h",
        "exp_histograms_fleet_1m",
        "exp_histograms_fleet_1h",
        "premerge_devices",
        "samples",
        "evaluations",
        "batch_keys",
        "rollup_state",
    }
)
"""Appended by ingest, rollups and the scheduler, each in transactions of their own; every
other table goes to PostgreSQL (``alert_history`` too: it is written in one transaction with
``alerts``, and a DuckDB transaction writes to one database only)."""

EXTRA_KEYS = {
    "devices": ("device_id",),
    "series_kinds": ("device_id", "metric", "attrs", "kind", "temporality"),
}
"""Keys the embedded writer kept by being the only writer; replicas need them enforced."""

PROTOCOL_DDL = """
CREATE SEQUENCE IF NOT EXISTS ew_group_seq;
CREATE TABLE IF NOT EXISTS ew_groups (
    seq        BIGINT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'aborted')),
    owner      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ew_groups_pending ON ew_groups (seq) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS ew_claims (
    device_id  TEXT NOT NULL,
    batch_key  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, batch_key)
);
CREATE INDEX IF NOT EXISTS ew_claims_seq ON ew_claims (seq);
CREATE TABLE IF NOT EXISTS ew_schema (
    version    INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True, slots=True)
class Column:
    """One column as the embedded schema declares it."""

    name: str
    type: str
    not_null: bool
    default: str | None


def embedded_tables() -> dict[str, tuple[list[Column], tuple[str, ...]]]:
    """Every table of the embedded schema: its columns and primary key (empty if none)."""
    con = duckdb.connect()
    try:
        migrate(con)
        tables: dict[str, tuple[list[Column], tuple[str, ...]]] = {}
        names = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'"
            " AND schema_name = 'main' AND NOT temporary AND table_name <> 'schema_version'"
            " ORDER BY table_name"
        ).fetchall()
        for (name,) in names:
            cols = [
                Column(r[0], r[1], not r[2], r[3])
                for r in con.execute(
                    "SELECT column_name, data_type, is_nullable, column_default"
                    " FROM duckdb_columns() WHERE database_name = 'memory' AND table_name = ?"
                    " ORDER BY column_index",
                    [name],
                ).fetchall()
            ]
            pk = con.execute(
                "SELECT constraint_column_names FROM duckdb_constraints()"
                " WHERE database_name = 'memory' AND table_name = ?"
                " AND constraint_type = 'PRIMARY KEY'",
                [name],
            ).fetchone()
            tables[name] = (cols, tuple(pk[0]) if pk else EXTRA_KEYS.get(name, ()))
        return tables
    finally:
        con.close()


def schema_version() -> int:
    """The newest embedded migration: the version a lake built by this code carries."""
    return max(m.version for m in available())


def _create_sql(qualified: str, columns: list[Column], key: tuple[str, ...]) -> str:
    parts = []
    for c in columns:
        text = f'"{c.name}" {c.type}'
        if c.not_null:
            text += " NOT NULL"
        if c.default is not None:
            text += f" DEFAULT {c.default}"
        parts.append(text)
    if key:
        parts.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in key) + ")")
    return f"CREATE TABLE IF NOT EXISTS {qualified} ({', '.join(parts)})"


def ensure_schema(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Create the lake's tables where missing (idempotent; replicas may race on a fresh
    catalog, so the PostgreSQL side runs under an advisory lock), install this version's
    group-commit trigger, and refuse a lake built by a different schema version."""
    want = schema_version()
    with psycopg.connect(catalog, autocommit=True) as pg:
        pg.execute("SELECT pg_advisory_lock(hashtext('edgewatch-lake-schema'))")
        try:
            pg.execute(PROTOCOL_DDL)
            row = pg.execute("SELECT max(version) FROM ew_schema").fetchone()
            have = row[0] if row else None
            if have is not None and have != want:
                raise StoreError(
                    f"the lake's schema is version {have}, this edgewatch expects {want}:"
                    " run the same edgewatch version on every replica"
                )
            if have is None:
                for name, (columns, key) in embedded_tables().items():
                    if name in LAKE_TABLES:
                        con.execute(_create_sql(f"{LAKE}.main.{name}", columns, ()))
                    else:
                        con.execute(_create_sql(f"{PG}.public.{name}", columns, key))
                pg.execute("INSERT INTO ew_schema (version) VALUES (%s)", [want])
            pg.execute(COMMIT_DDL)
        finally:
            pg.execute("SELECT pg_advisory_unlock(hashtext('edgewatch-lake-schema'))")
