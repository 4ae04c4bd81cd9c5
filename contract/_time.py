"""The contract's one wire form of an instant: ``Timestamp``, an aware ``datetime`` in Python
that travels as RFC 3339 with a ``Z`` suffix in every ``/api/v1`` answer (as Alertmanager
writes times). Query parameters take RFC 3339 or unix seconds: :func:`parse_instant`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

MIN_UNIX_S = 0.0
"""Earliest instant the API accepts: 1970-01-01T00:00:00Z."""
MAX_UNIX_S = 32_503_680_000.0
"""Latest instant the API accepts: 3000-01-01T00:00:00Z (far below datetime's year 9999, so
adding a day or a duration to it cannot overflow)."""
MAX_SPAN_S = 100 * 366 * 86_400.0
"""Longest duration a parameter may give (a silence, a look-back): about a century."""


def utc_now() -> datetime:
    """Now, aware UTC: the one clock the server and the dashboard read."""
    return datetime.now(UTC)


def is_naive(at: datetime) -> bool:
    """Whether ``at`` carries no time zone, so which instant it means would be a guess."""
    return at.tzinfo is None or at.utcoffset() is None


def format_rfc3339(at: datetime) -> str:
    """``at`` as RFC 3339 UTC text with a ``Z`` suffix; naive times are refused."""
    if is_naive(at):
        raise ValueError(f"{at.isoformat()} carries no time zone")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_unix_s(seconds: float) -> datetime:
    """Unix seconds as an aware UTC datetime; ``ValueError`` when not finite or out of range."""
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"{seconds!r} is not a finite number of unix seconds")
    if not MIN_UNIX_S <= seconds <= MAX_UNIX_S:
        raise ValueError(
            f"unix seconds must be between {MIN_UNIX_S:.0f} and {MAX_UNIX_S:.0f}, got {seconds!r}"
        )
    return datetime.fromtimestamp(seconds, UTC)


def parse_instant(text: str) -> datetime:
    """An instant written as RFC 3339 with a zone or as unix seconds (``1767225600``,
    ``1767225600.5``), as the Prometheus HTTP API takes it; aware UTC, ``ValueError`` naming
    the accepted forms otherwise."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return from_unix_s(seconds)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither RFC 3339 (e.g. 2026-01-31T12:00:00Z) nor unix seconds"
        ) from None
    if is_naive(at):
        raise ValueError(f"{text!r} must carry a time zone (e.g. a Z suffix)")
    return from_unix_s(at.timestamp())


def _text_or_datetime(value: object) -> object:
    """Refuse a number where an instant is due: the document says RFC 3339 text, and
    pydantic would otherwise read ``0`` or ``true`` as unix seconds."""
    if isinstance(value, bool | int | float):
        raise ValueError("an instant is RFC 3339 text (e.g. 2026-01-31T12:00:00Z), not a number")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_text_or_datetime),
    PlainSerializer(format_rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339"}),
]
"""An aware instant that travels as RFC 3339 text."""
