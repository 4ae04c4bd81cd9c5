"""Instants as timezone-aware UTC datetimes, in RFC 3339 on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

from edgewatch.contract import is_naive

__all__ = ["format_time", "parse_time", "require_aware"]


def require_aware(at: datetime, what: str = "time") -> datetime:
    """``at`` in UTC; a naive datetime is refused because its zone would be a guess, and so
    is one whose UTC equivalent falls outside ``datetime``'s years 1-9999."""
    if is_naive(at):
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{what} {at.isoformat()} is outside the years 1-9999 in UTC") from None


def format_time(at: datetime) -> str:
    """RFC 3339 with a ``Z`` suffix, as Alertmanager writes times."""
    text = require_aware(at).isoformat()
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`; accepts any RFC 3339 offset."""
    return require_aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
