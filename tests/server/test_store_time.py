"""The store's one time conversion (``store/_time.py``): a bucket's ``epoch_us`` becomes the
exact instant, and back; a naive datetime is refused rather than read as local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edgewatch.server.store import InvalidQueryError
from edgewatch.server.store._time import from_unix_us, naive_utc, unix_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every microsecond from year 1 to year 9999, as DuckDB's epoch_us of a TIMESTAMP can be.
MICROS = st.integers(
    min_value=(datetime(1, 1, 2, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
    max_value=(datetime(9999, 12, 30, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
)


@given(MICROS)
@example(2**33 * 1_000_000 - 1)  # the edge of the fast path, both sides
@example(2**33 * 1_000_000)
@example(-(2**33) * 1_000_000 + 1)
@example(2**53 - 1)  # far from the epoch a float of seconds misses microseconds
@example(253_402_214_399_999_999)
def test_a_bucket_start_in_microseconds_is_that_exact_instant_and_back(us: int) -> None:
    at = from_unix_us(us)
    assert at == EPOCH + timedelta(microseconds=us)  # oracle: exact timedelta arithmetic
    assert at.tzinfo is UTC
    assert unix_us(at) == us


@given(MICROS, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_any_zone_reaches_sql_as_the_same_naive_utc(us: int, offset_min: int) -> None:
    at = from_unix_us(us)
    zone = timezone(timedelta(minutes=offset_min))
    try:
        local = at.astimezone(zone)
    except OverflowError:  # the local time falls outside year 1..9999
        return
    assert naive_utc(local) == naive_utc(at) == at.replace(tzinfo=None)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="time zone"):
        naive_utc(datetime(2026, 12, 4, 12))
    with pytest.raises(InvalidQueryError, match="time zone"):
        unix_us(datetime(2026, 12, 4, 12))
