"""Time conversions at the SQL boundary: DuckDB TIMESTAMP columns hold naive UTC.

Every instant that crosses the store interface is an aware UTC ``datetime``; it becomes the
naive-UTC form DuckDB expects here (``naive_utc``), and a TIMESTAMP read back becomes aware
again here (``aware_utc``). Unix seconds and microseconds stay inside the store: numeric
columns of many points (a batch's ``ts_us``) and arithmetic on bucket edges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import overload

from edgewatch.contract import is_naive, utc_now
from edgewatch.server.store._errors import InvalidQueryError


def utc_datetime(unix_s: float) -> datetime:
    """Naive UTC datetime for a unix time, as DuckDB TIMESTAMP parameters expect.

    A time ``datetime`` cannot hold (NaN, infinite, beyond year 9999) is an
    ``InvalidQueryError`` (a 400), not an ``OverflowError`` escaping as a 500."""
    try:
        return naive_utc(datetime.fromtimestamp(unix_s, UTC))
    except (OverflowError, OSError, ValueError):
        raise InvalidQueryError(f"time {unix_s!r} is outside the supported range") from None


def from_unix(unix_s: float) -> datetime:
    """The aware UTC datetime of a unix time (``InvalidQueryError`` outside its range)."""
    return aware_utc(utc_datetime(unix_s))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_unix_us(unix_us: int) -> datetime:
    """The aware UTC datetime of a unix time in microseconds, exactly (as DuckDB's ``epoch_us``
    gives a bucket start). Within 2**33 s of the epoch (years 1697 to 2242) the float
    ``unix_us / 1e6`` is within half a microsecond of the true value (its spacing is below
    1 us) and ``fromtimestamp`` rounds to the microsecond, twice as fast as adding a
    ``timedelta``; beyond, the ``timedelta``."""
    if -_EXACT_US < unix_us < _EXACT_US:
        return datetime.fromtimestamp(unix_us / 1e6, UTC)
    return _EPOCH + timedelta(microseconds=unix_us)


_EXACT_US = 2**33 * 1_000_000


def unix_us(at: datetime) -> int:
    """Unix microseconds of an aware datetime (exact; DuckDB's ``epoch_us`` of it)."""
    return (checked(at) - _EPOCH) // timedelta(microseconds=1)


def checked(at: datetime) -> datetime:
    """``at`` itself, refused (``InvalidQueryError``) when naive: which zone it means is unknown."""
    if is_naive(at):
        raise InvalidQueryError(f"time {at.isoformat()} has no time zone (give an aware datetime)")
    return at


def checked_or_now(now: datetime | None) -> datetime:
    """``now`` as ``checked`` gives it, or the current time when None: the default of every
    ``now`` the store takes."""
    return utc_now() if now is None else checked(now)


@overload
def naive_utc(at: datetime) -> datetime: ...
@overload
def naive_utc(at: None) -> None: ...
def naive_utc(at: datetime | None) -> datetime | None:
    """The naive-UTC form DuckDB TIMESTAMP parameters expect, from an aware datetime
    (``None`` stays ``None``). A naive datetime is refused: which zone it means is unknown."""
    return None if at is None else checked(at).astimezone(UTC).replace(tzinfo=None)


def naive_utc_before(at: datetime, seconds: float) -> datetime:
    """The naive-UTC TIMESTAMP parameter ``seconds`` before the aware ``at`` (a cutoff)."""
    return naive_utc(at - timedelta(seconds=seconds))


@overload
def aware_utc(value: datetime) -> datetime: ...
@overload
def aware_utc(value: None) -> None: ...
def aware_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime from a naive-UTC TIMESTAMP read from DuckDB (``None`` stays)."""
    return None if value is None else value.replace(tzinfo=UTC)


def parse_naive_utc(text: str) -> datetime:
    """Naive UTC from an RFC 3339 string (the alerting dicts' time format)."""
    return naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
