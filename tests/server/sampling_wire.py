"""Sampled-row batches in the collector's own wire format, and a server with chosen settings.

Self-contained (no ``from conftest import``): another directory's conftest may own that name.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from edgewatch.collector._logs import encode_samples
from edgewatch.collector._reservoir import SampledRow
from edgewatch.server.app import create_app
from edgewatch.server.settings import load_settings
from edgewatch.server.store import Store


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


@dataclass
class Tokens:
    admin: str
    device_a: str


@dataclass
class Server:
    url: str
    app: Any
    tokens: Tokens

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout_s} s")


@contextmanager
def server_with(tmp_path: Path, **overrides: Any) -> Iterator[Server]:
    """uvicorn on 127.0.0.1 in a thread with a fresh DuckDB file and the given settings."""
    db = tmp_path / "edgewatch.duckdb"
    port = _free_port()
    settings = load_settings(db_path=db, port=port, **overrides)
    with Store.open(db, settings.store_config(maintenance=False)) as store:
        tokens = Tokens(
            admin=store.create_token(role="admin").token,
            device_a=store.create_token(role="device", device_id="dev-a").token,
        )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-sampling-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield Server(url, app, tokens)
    finally:
        server.should_exit = True
        thread.join(15)
