"""Sampled-row batches in the collector's own wire format, and a server with chosen settings."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from live_server import free_port, wait_ready
from server_harness import NO_SCHEDULER_TICKS, LiveServer, make_tokens, serve_in_thread

from edgewatch.collector._logs import encode_samples
from edgewatch.collector._reservoir import SampledRow
from edgewatch.server.settings import load_settings


def resource(device: str, model: str = "digits", version: str = "v1") -> dict[str, str]:
    return {"device.id": device, "ml.model.name": model, "ml.model.version": version}


def sample_body(
    device: str,
    rows: Sequence[Mapping[str, float | str | None]],
    *,
    model: str = "digits",
    version: str = "v1",
    prediction: str | None = "3",
    at_ns: int | None = None,
) -> bytes:
    """A gzip ExportLogsServiceRequest with one record per row, as the collector encodes it."""
    now = at_ns or time.time_ns()
    sampled = [
        SampledRow(now - (len(rows) - i) * 1_000_000, dict(r), prediction, 0.9)
        for i, r in enumerate(rows)
    ]
    encoded = encode_samples(resource(device, model, version), sampled, 2**30)
    assert encoded is not None
    return encoded.body


def raw_request(body: bytes) -> bytes:
    return gzip.decompress(body)


def headers(token: str, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Idempotency-Key": key or uuid.uuid4().hex,
    }


@contextmanager
def server_with(tmp_path: Path, **overrides: Any) -> Iterator[LiveServer]:
    """A live in-process server like the ``live_server`` fixture (its scheduler runs only when
    the test runs it), with the given settings."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    server, thread, app = serve_in_thread(
        load_settings(db_path=db, port=port, **{**NO_SCHEDULER_TICKS, **overrides})
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield LiveServer(url, app, tokens, db)
    finally:
        server.should_exit = True
        thread.join(15)
