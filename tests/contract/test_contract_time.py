"""The contract's one time format: a query instant written as RFC 3339 or as unix seconds
reads as the same aware datetime, and the two wire spellings of answers round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.contract import (
    MAX_UNIX_S,
    MIN_UNIX_S,
    AckOut,
    DroppedOut,
    SeriesOut,
    format_rfc3339,
    parse_instant,
)

SECONDS = st.integers(int(MIN_UNIX_S), int(MAX_UNIX_S) - 1).map(float) | st.floats(
    MIN_UNIX_S, MAX_UNIX_S - 1, allow_nan=False
).map(lambda x: round(x, 6))


@given(SECONDS)
def test_both_spellings_name_the_same_instant(seconds: float) -> None:
    at = datetime.fromtimestamp(seconds, UTC)
    assert parse_instant(repr(seconds)) == at
    assert parse_instant(format_rfc3339(at)) == at


def test_offsets_are_read_and_answers_are_utc() -> None:
    at = parse_instant("2026-01-31T13:00:00+01:00")
    assert at == datetime(2026, 1, 31, 12, tzinfo=UTC) and at.tzinfo is UTC
    assert format_rfc3339(at) == "2026-01-31T12:00:00Z"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-01-31T12:00:00", "time zone"),
        ("yesterday", "neither RFC 3339"),
        ("nan", "finite"),
        ("-1", "between"),
        ("1e20", "between"),
    ],
)
def test_bad_instants_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_instant(text)


@given(SECONDS)
def test_every_answer_time_travels_as_rfc3339_and_round_trips(seconds: float) -> None:
    at = datetime.fromtimestamp(seconds, UTC)
    dropped = DroppedOut(
        inferences={}, batches={}, inferences_total=0, batches_total=0, last_drop_at=None,
        reported_at=at,
    )  # fmt: skip
    assert DroppedOut.model_validate_json(dropped.model_dump_json()) == dropped
    assert dropped.model_dump(mode="json")["reported_at"].endswith("Z")
    series = SeriesOut(
        metric="m", kind="gauge", agg="avg", resolution="raw", step_s=60.0, points=[(at, 1.5)]
    )
    assert series.model_dump(mode="json")["points"] == [[format_rfc3339(at), 1.5]]
    assert SeriesOut.model_validate_json(series.model_dump_json()).times == (at,)
    ack = AckOut(author="a", comment="", at=at)
    assert ack.model_dump(mode="json")["at"].endswith("Z")
    assert AckOut.model_validate_json(ack.model_dump_json()) == ack
