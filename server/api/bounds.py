"""The ranges REST inputs are checked against at the edge.

Values outside them would overflow ``datetime`` or DuckDB's integers deeper in (a 500, or a
503 carrying the storage error's text); checked here they are a 400/422 naming the parameter.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

MIN_UNIX_S = 0.0
"""Earliest instant a query or silence may name: 1970-01-01T00:00:00Z."""
MAX_UNIX_S = 32_503_680_000.0
"""Latest instant a query or silence may name: 3000-01-01T00:00:00Z (far below datetime's
year 9999, so adding a day or a duration to it cannot overflow)."""
MAX_SPAN_S = 100 * 366 * 86_400.0
"""Longest duration a parameter may give (a silence, a look-back): about a century."""
MAX_DEVICES = 1_000_000_000
"""Largest device count a parameter may ask for (a gate's ``min_devices``)."""
MAX_OFFSET = 1_000_000_000
"""Largest ``offset`` a list accepts (DuckDB's OFFSET is a 64-bit integer)."""

_EARLIEST = datetime.fromtimestamp(MIN_UNIX_S, UTC)
_LATEST = datetime.fromtimestamp(MAX_UNIX_S, UTC)


def check_unix_s(name: str, seconds: float) -> float:
    """``seconds`` when finite and within the supported range, else ``ValueError`` naming it."""
    if not math.isfinite(seconds) or not MIN_UNIX_S <= seconds <= MAX_UNIX_S:
        raise ValueError(
            f"{name} must be unix seconds between {MIN_UNIX_S:.0f} and {MAX_UNIX_S:.0f},"
            f" got {seconds!r}"
        )
    return seconds


def check_instant(name: str, at: datetime) -> datetime:
    """``at`` (timezone-aware) when between 1970 and 3000, else ``ValueError`` naming it."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone (e.g. a Z suffix)")
    if not _EARLIEST <= at <= _LATEST:
        raise ValueError(
            f"{name} must be between {_EARLIEST.isoformat()} and {_LATEST.isoformat()},"
            f" got {at.isoformat()}"
        )
    return at.astimezone(UTC)


def _instant(at: datetime) -> datetime:
    return check_instant("time", at)


Instant = Annotated[datetime, AfterValidator(_instant)]
"""A request body's timezone-aware instant between 1970 and 3000 (422 otherwise)."""
