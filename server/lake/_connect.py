"""Open a DuckDB connection on a lake: DuckLake (catalog in PostgreSQL, Parquet under a data
path) for the append-heavy tables and the same PostgreSQL database, attached directly, for
the small transactional ones; unqualified table names resolve to either through the search
path, so the embedded store's SQL runs unchanged."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import duckdb
import psycopg

from edgewatch.server.store import StoreError

LAKE = "lake"
"""The DuckLake catalog's name inside each connection."""
PG = "ewpg"
"""The directly attached PostgreSQL database's name inside each connection."""
METADATA_SCHEMA = "ducklake"
"""PostgreSQL schema holding DuckLake's own catalog tables (ours live in ``public``)."""

_EXTENSIONS = ("postgres", "ducklake")
_S3 = re.compile(r"^(s3|gs|r2|az|abfss)://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LakeConfig:
    """Where a lake lives: the PostgreSQL catalog URL and the data path (a directory or an
    object-store URL such as ``s3://bucket/prefix/``)."""

    catalog: str
    data_path: str
    inline_row_limit: int = 0
    """Commits with at most this many rows per table go into the catalog instead of a Parquet
    file (DuckLake data inlining); 0 leaves it off, as group commits are large."""

    def __post_init__(self) -> None:
        scheme = urlsplit(self.catalog).scheme
        if scheme not in ("postgresql", "postgres"):
            raise StoreError(
                f"catalog must be a postgresql:// URL, got {self.catalog!r}"
                " (e.g. postgresql://edgewatch@127.0.0.1:5432/edgewatch)"
            )
        if not self.data_path:
            raise StoreError("data_path is empty: give a directory or an s3:// URL")
        if self.inline_row_limit < 0:
            raise StoreError(f"inline_row_limit must be >= 0, got {self.inline_row_limit}")

    @property
    def data_dir(self) -> str:
        """The data path with one trailing slash, as DuckLake wants it."""
        return self.data_path.rstrip("/") + "/"

    @property
    def on_object_store(self) -> bool:
        """Whether data files go to an object store (needs the httpfs extension and a secret)."""
        return bool(_S3.match(self.data_path))


def extensions_available() -> bool:
    """Whether the ``[scale]`` extra is installed (the packaged DuckDB extensions)."""
    return all(
        importlib.util.find_spec(f"duckdb_extension_{name}") is not None for name in _EXTENSIONS
    )


def _load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    if not extensions_available():
        raise StoreError(
            "the ducklake store needs the [scale] extra: pip install 'edgewatch[scale]'"
        )
    for name in _EXTENSIONS:
        _load_extension(con, name)


def _load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Install a packaged extension from its wheel (offline) and load it."""
    from duckdb_extensions import import_extension

    import_extension(name, con=con)
    con.execute(f"LOAD {name}")


def connect(config: LakeConfig) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake and the PostgreSQL database attached and searched."""
    con = duckdb.connect()
    try:
        _load_extensions(con)
        if config.on_object_store:
            _load_extension(con, "httpfs")
        # The first ATTACH creates DuckLake's catalog tables; replicas starting together on
        # a fresh catalog would race on them, so attaching takes turns.
        with psycopg.connect(config.catalog, autocommit=True) as pg:
            pg.execute("SELECT pg_advisory_lock(hashtext('edgewatch-lake-attach'))")
            con.execute(
                f"ATTACH 'ducklake:postgres:{_quoted(config.catalog)}' AS {LAKE}"
                f" (DATA_PATH '{_quoted(config.data_dir)}', METADATA_SCHEMA '{METADATA_SCHEMA}',"
                f" DATA_INLINING_ROW_LIMIT {int(config.inline_row_limit)})"
            )
        con.execute(f"ATTACH '{_quoted(config.catalog)}' AS {PG} (TYPE postgres)")
        search(con)
    except (duckdb.Error, psycopg.Error) as e:
        con.close()
        raise StoreError(f"cannot open the lake at {config.catalog}: {e}") from e
    return con


def search(cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Let ``cur`` find tables in the lake, then in PostgreSQL (a per-cursor setting)."""
    cur.execute(f"SET search_path = '{LAKE}.main,{PG}.public'")
    return cur


def _quoted(text: str) -> str:
    return text.replace("'", "''")
