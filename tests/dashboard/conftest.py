"""Fixtures for the dashboard tests; the machinery lives in ``dashboard_harness``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_harness import FreshSeededServer, SeededServer, send_device, start_empty_server


@pytest.fixture(scope="session")
def fresh_seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshSeededServer]:
    """The seeded server with alerting, shared by the dashboard tests while it reads as
    freshly seeded (its devices' statuses are relative to the time of seeding)."""
    fresh = FreshSeededServer(lambda: tmp_path_factory.mktemp("edgewatch") / "ew.duckdb")
    try:
        yield fresh
    finally:
        fresh.stop()


@pytest.fixture
def seeded_server(fresh_seeded_server: FreshSeededServer) -> SeededServer:
    """A seeded server with alerting, seeded at most ``RESEED_AFTER_S`` ago."""
    return fresh_seeded_server.current()


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[SeededServer]:
    """A real server nobody has sent anything to yet."""
    running = start_empty_server(tmp_path / "empty.duckdb")
    try:
        yield running.seeded
    finally:
        running.stop()


@pytest.fixture(scope="session")
def alerting_off_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    """A server running with ``alerting: false`` that one device (dev-a) reports to."""
    running = start_empty_server(tmp_path_factory.mktemp("alerting-off") / "ew.duckdb")
    try:
        send_device(running.seeded, "dev-a")
        yield running.seeded
    finally:
        running.stop()


@pytest.fixture
def dashboard_env(seeded_server: SeededServer, monkeypatch: pytest.MonkeyPatch) -> SeededServer:
    """The dashboard's environment pointing at the seeded server."""
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", seeded_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", seeded_server.admin)
    return seeded_server
