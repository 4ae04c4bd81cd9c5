"""Fixtures of the collector tests (helpers live in uniquely named modules beside this one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from collector_otlp import OtlpServer


@pytest.fixture
def otlp_server() -> Iterator[OtlpServer]:
    """A running test server; its ``url`` is the endpoint to give a Monitor."""
    server = OtlpServer()
    yield server
    server.close()
