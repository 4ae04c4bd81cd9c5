"""Copy an embedded DuckDB file into an empty lake (``edgewatch lake migrate``).

Every table of the embedded schema is copied as it is, one transaction per table (a DuckDB
transaction writes to one database: the lake or PostgreSQL). The file is first brought to
this version's schema. Commit-group numbers continue after the file's, so rollups resume
from its watermark, and its Idempotency-Keys become claims: a batch stored before the move
and resent after it is a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg

from edgewatch.server.lake._connect import LAKE, PG, LakeConfig, connect
from edgewatch.server.lake._schema import LAKE_TABLES, embedded_tables, ensure_schema
from edgewatch.server.store import StoreError
from edgewatch.server.store._migrations import migrate as migrate_embedded

SOURCE = "embedded"


@dataclass(frozen=True, slots=True)
class Copied:
    """Rows copied into one table."""

    table: str
    rows: int


def migrate_file(
    db_path: Path, lake: LakeConfig, *, progress: Callable[[Copied], None] = lambda c: None
) -> list[Copied]:
    """Copy ``db_path`` into ``lake``, which must hold no device yet; the file must not be
    held by a running server."""
    if not db_path.exists():
        raise StoreError(f"{db_path} does not exist")
    try:
        with duckdb.connect(str(db_path)) as src:
            migrate_embedded(src)
    except duckdb.IOException as e:
        raise StoreError(f"cannot open {db_path}: {e} (stop the server holding it first)") from e
    con = connect(lake)
    try:
        ensure_schema(con, lake.catalog)
        if con.execute("SELECT count(*) FROM devices").fetchone() != (0,):
            raise StoreError("the lake already holds devices: migrate into an empty lake only")
        con.execute(
            f"ATTACH '{str(db_path).replace(chr(39), chr(39) * 2)}' AS {SOURCE} (READ_ONLY)"
        )
        copied = []
        for table in embedded_tables():
            target = f"{LAKE}.main.{table}" if table in LAKE_TABLES else f"{PG}.public.{table}"
            con.begin()
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {SOURCE}.main.{table}")
            con.commit()
            row = con.execute(f"SELECT count(*) FROM {SOURCE}.main.{table}").fetchone()
            done = Copied(table, int(row[0]) if row else 0)
            copied.append(done)
            progress(done)
        row = con.execute(
            f"SELECT greatest((SELECT max(seq) FROM {SOURCE}.main.points),"
            f" (SELECT max(seq) FROM {SOURCE}.main.exp_histograms),"
            f" (SELECT max(seq) FROM {SOURCE}.main.histograms), 0)"
        ).fetchone()
        top = int(row[0]) if row and row[0] is not None else 0
        keys = con.execute(
            f"SELECT DISTINCT device_id, batch_key FROM {SOURCE}.main.batch_keys"
        ).fetchall()
    except duckdb.Error as e:
        raise StoreError(f"migration failed: {e}") from e
    finally:
        con.close()
    with psycopg.connect(lake.catalog) as pg:
        pg.execute("SELECT setval('ew_group_seq', %s)", [max(top, 1)])
        pg.execute(
            "INSERT INTO ew_groups (seq, state, owner) VALUES (%s, 'committed', 'migrate')"
            " ON CONFLICT DO NOTHING",
            [max(top, 1)],
        )
        if keys:
            pg.execute(
                "INSERT INTO ew_claims (device_id, batch_key, seq)"
                " SELECT d, k, %s FROM unnest(%s::text[], %s::text[]) AS u(d, k)"
                " ON CONFLICT DO NOTHING",
                [max(top, 1), [k[0] for k in keys], [k[1] for k in keys]],
            )
    return copied
