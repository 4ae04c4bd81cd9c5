"""Fixtures for the server tests; the machinery lives in ``server_harness``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import (
    LiveServer,
    ServerProcess,
    free_port,
    make_tokens,
    serve_in_thread,
    wait_ready,
)

from edgewatch.server.settings import load_settings


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 with a fresh DuckDB file, run in a thread of this process."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    settings = load_settings(
        db_path=db,
        port=port,
        max_body_bytes=256 * 1024,
        max_series_per_metric=50,
        max_series_per_device=400,
        max_queue=4,
    )
    server, thread, app = serve_in_thread(settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield LiveServer(url, app, tokens, db)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    sp = ServerProcess(
        db=tmp_path / "edgewatch.duckdb", port=free_port(), log=tmp_path / "server.log"
    )
    try:
        yield sp
    finally:
        sp.stop()
