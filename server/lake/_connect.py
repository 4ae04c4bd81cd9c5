"""Open a DuckDB connection on a lake: DuckLake (catalog in PostgreSQL, Parquet under a data
path) for the append-heavy tables and the same PostgreSQL database, attached directly, for
the small transactional ones; unqualified table names resolve to either through the search
path, so the embedded store's SQL runs unchanged."""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
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
_OBJECT_STORE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class S3Settings:
    """How a replica reaches an S3 data path, from the standard AWS environment variables:
    ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``) for an S3-compatible store such as
    MinIO, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``),
    ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``)."""

    key_id: str
    secret: str
    region: str = DEFAULT_REGION
    endpoint: str | None = None
    """``host[:port]`` of an S3-compatible store (path-style URLs); ``None`` for AWS S3."""
    use_ssl: bool = True
    session_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> S3Settings:
        """Read and check the variables; a missing or malformed one is a ``StoreError``
        naming it."""
        key_id = environ.get("AWS_ACCESS_KEY_ID", "")
        secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key_id or not secret:
            pairs = (("AWS_ACCESS_KEY_ID", key_id), ("AWS_SECRET_ACCESS_KEY", secret))
            missing = [n for n, v in pairs if not v]
            raise StoreError(
                "an s3:// data path needs credentials in each replica's environment: "
                + " and ".join(missing)
                + " not set"
            )
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        name = "AWS_ENDPOINT_URL_S3" if environ.get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
        url = environ.get(name, "")
        if not url:
            return cls(key_id, secret, region, session_token=environ.get("AWS_SESSION_TOKEN"))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"{name} must be an http:// or https:// URL, got {url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise StoreError(
                f"{name} must be the store's base URL (scheme, host, port), got {url!r}"
            )
        try:
            port = parts.port
        except ValueError as e:
            raise StoreError(f"{name} has a bad port: {url!r}") from e
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(
            key_id,
            secret,
            region,
            endpoint=f"{host}:{port}" if port else host,
            use_ssl=parts.scheme == "https",
            session_token=environ.get("AWS_SESSION_TOKEN"),
        )

    def create_secret_sql(self) -> str:
        """DuckDB's ``CREATE SECRET`` for these settings (scoped to this connection)."""
        fields = [
            ("KEY_ID", self.key_id),
            ("SECRET", self.secret),
            ("REGION", self.region),
        ]
        if self.session_token:
            fields.append(("SESSION_TOKEN", self.session_token))
        if self.endpoint is not None:
            fields += [("ENDPOINT", self.endpoint), ("URL_STYLE", "path")]
        body = ", ".join(f"{k} '{_quoted(v)}'" for k, v in fields)
        ssl = "true" if self.use_ssl else "false"
        return f"CREATE OR REPLACE SECRET edgewatch_lake (TYPE s3, {body}, USE_SSL {ssl})"


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
        if _OBJECT_STORE.match(self.data_path) and not self.on_object_store:
            raise StoreError(
                f"data_path {self.data_path!r}: only local directories and s3:// URLs are"
                " supported (Google Cloud Storage and R2 through their S3-compatible"
                " endpoints, with AWS_ENDPOINT_URL)"
            )
        if self.inline_row_limit < 0:
            raise StoreError(f"inline_row_limit must be >= 0, got {self.inline_row_limit}")

    @property
    def data_dir(self) -> str:
        """The data path with one trailing slash, as DuckLake wants it."""
        return self.data_path.rstrip("/") + "/"

    @property
    def on_object_store(self) -> bool:
        """Whether data files go to S3 (needs the httpfs extension and a secret)."""
        return self.data_path.lower().startswith("s3://")


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


def connect(
    config: LakeConfig, environ: Mapping[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake and the PostgreSQL database attached and searched;
    an s3:// data path reads its settings from ``environ`` (the process environment)."""
    env = os.environ if environ is None else environ
    s3 = S3Settings.from_env(env) if config.on_object_store else None
    con = duckdb.connect()
    try:
        _load_extensions(con)
        if s3 is not None:
            _load_extension(con, "httpfs")
            con.execute(s3.create_secret_sql())
            _probe(con, config.data_dir)
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
    except StoreError:
        con.close()
        raise
    except (duckdb.Error, psycopg.Error) as e:
        con.close()
        raise StoreError(f"cannot open the lake at {config.catalog}: {e}") from e
    return con


def _probe(con: duckdb.DuckDBPyConnection, data_dir: str) -> None:
    """List the object-store data path once at start, so a missing bucket or refused
    credentials stop the replica with a message instead of failing every commit later."""
    try:
        con.execute(f"SELECT count(*) FROM glob('{_quoted(data_dir)}*')").fetchall()
    except duckdb.Error as e:
        raise StoreError(
            f"cannot list the data path {data_dir} (does the bucket exist; are the AWS_*"
            f" credentials and endpoint right?): {e}"
        ) from e


def search(cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Let ``cur`` find tables in the lake, then in PostgreSQL (a per-cursor setting)."""
    cur.execute(f"SET search_path = '{LAKE}.main,{PG}.public'")
    return cur


def _quoted(text: str) -> str:
    return text.replace("'", "''")
