"""Scale-out storage: stateless server replicas sharing one DuckLake lake (catalog in
PostgreSQL, Parquet data in a directory or object store). Needs the ``[scale]`` extra; the
embedded DuckDB file stays the default. See docs/scale-out.md."""

from __future__ import annotations

from edgewatch.server.lake._connect import LakeConfig, S3Settings, connect, extensions_available
from edgewatch.server.lake._lease import SchedulerLease
from edgewatch.server.lake._store import LakeStore

__all__ = [
    "LakeConfig",
    "LakeStore",
    "S3Settings",
    "SchedulerLease",
    "connect",
    "extensions_available",
]
