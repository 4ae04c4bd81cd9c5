"""Time conversions at the SQL boundary: DuckDB TIMESTAMP columns hold naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_datetime(unix_s: float) -> datetime:
    """Naive UTC datetime for a unix time, as DuckDB TIMESTAMP parameters expect."""
    return datetime.fromtimestamp(unix_s, UTC).replace(tzinfo=None)


def unix_seconds(value: datetime) -> float:
    """Unix seconds of a naive-UTC datetime read from DuckDB."""
    return value.replace(tzinfo=UTC).timestamp()
