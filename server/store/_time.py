"""Time conversions at the SQL boundary: DuckDB TIMESTAMP columns hold naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from edgewatch.server.store._errors import InvalidQueryError


def utc_datetime(unix_s: float) -> datetime:
    """Naive UTC datetime for a unix time, as DuckDB TIMESTAMP parameters expect.

    A time ``datetime`` cannot hold (NaN, infinite, beyond year 9999) is an
    ``InvalidQueryError`` (a 400), not an ``OverflowError`` escaping as a 500."""
    try:
        return naive_utc(datetime.fromtimestamp(unix_s, UTC))
    except (OverflowError, OSError, ValueError):
        raise InvalidQueryError(f"time {unix_s!r} is outside the supported range") from None


def unix_seconds(value: datetime) -> float:
    """Unix seconds of a naive-UTC datetime read from DuckDB."""
    return aware_utc(value).timestamp()


def naive_utc(at: datetime) -> datetime:
    """The naive-UTC form DuckDB TIMESTAMP parameters expect, from an aware datetime."""
    return at.astimezone(UTC).replace(tzinfo=None)


def aware_utc(value: datetime) -> datetime:
    """An aware UTC datetime from a naive-UTC TIMESTAMP read from DuckDB."""
    return value.replace(tzinfo=UTC)


def parse_naive_utc(text: str) -> datetime:
    """Naive UTC from an RFC 3339 string (the alerting dicts' time format)."""
    return naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
