"""Time conversions at the SQL boundary: DuckDB TIMESTAMP columns hold naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from edgewatch.server.store._errors import InvalidQueryError


def utc_datetime(unix_s: float) -> datetime:
    """Naive UTC datetime for a unix time, as DuckDB TIMESTAMP parameters expect.

    A time ``datetime`` cannot hold (NaN, infinite, beyond year 9999) is an
    ``InvalidQueryError`` (a 400), not an ``OverflowError`` escaping as a 500."""
    try:
        return datetime.fromtimestamp(unix_s, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise InvalidQueryError(f"time {unix_s!r} is outside the supported range") from None


def unix_seconds(value: datetime) -> float:
    """Unix seconds of a naive-UTC datetime read from DuckDB."""
    return value.replace(tzinfo=UTC).timestamp()
