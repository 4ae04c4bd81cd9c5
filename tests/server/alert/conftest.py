"""Fixtures for the alerting tests: real HTTP receivers on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from alert_http_sink import Sink, wait_for


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    s.up()
    yield s
    s.down()


@pytest.fixture
def down_sink() -> Iterator[Sink]:
    s = Sink()  # nothing listens until the test calls up()
    yield s
    s.down()


@pytest.fixture
def waiter() -> Callable[..., None]:
    return wait_for
