"""Real servers for tests: uvicorn in a thread (in-process) or ``edgewatch server`` in a subprocess.

A plain module (not a conftest) so test files anywhere can import it by name."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import uvicorn
from live_server import free_port, wait_ready

from edgewatch.server.app import create_app
from edgewatch.server.settings import Settings, load_settings
from edgewatch.server.store import Store

ROOT = Path(__file__).resolve().parents[2]

NO_SCHEDULER_TICKS = {"scheduler_tick_s": 3600.0}
"""Settings for a test server whose alerting scheduler never ticks on its own during a test:
its built-in rules would otherwise evaluate every second, at moments the load decides, and
record evaluations (drift verdicts, alerts) that change what the test then reads. A test
that wants evaluations runs them with ``app.state.alerting.scheduler.run_once(now)``."""


@dataclass
class Tokens:
    admin: str
    device_a: str
    device_b: str


def make_tokens(db: Path) -> Tokens:
    """An admin token and device tokens for ``dev-a`` and ``dev-b`` (store opened briefly)."""
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        return Tokens(
            admin=store.create_token(role="admin", name="tests").token,
            device_a=store.create_token(role="device", device_id="dev-a").token,
            device_b=store.create_token(role="device", device_id="dev-b").token,
        )


@dataclass
class LiveServer:
    """A running in-process server: its URL, app (for the store) and tokens."""

    url: str
    app: object
    tokens: Tokens
    db: Path

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store  # type: ignore[attr-defined]
        return store

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.admin}"}

    def upload_baseline(self, model: str, version: str, frame: pd.DataFrame) -> httpx.Response:
        """POST ``frame`` as the reference CSV of ``model`` ``version`` (as admin)."""
        return httpx.post(
            f"{self.url}/api/v1/baselines",
            params={"model": model, "version": version},
            files={"file": ("ref.csv", frame.to_csv(index=False).encode(), "text/csv")},
            headers=self.admin(),
            timeout=30,
        )


def serve_in_thread(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, object]:
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    return server, thread, app


@contextmanager
def serving(tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 with a fresh DuckDB file under ``tmp_path`` and ``settings`` over
    the defaults, run in a thread of this process; its scheduler evaluates only when the test
    runs it (``NO_SCHEDULER_TICKS``) unless ``settings`` say otherwise."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    server, thread, app = serve_in_thread(
        load_settings(db_path=db, port=port, **{**NO_SCHEDULER_TICKS, **settings})
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield LiveServer(url, app, tokens, db)
    finally:
        server.should_exit = True
        thread.join(15)


def running_server(tmp_path: Path) -> AbstractContextManager[LiveServer]:
    """``serving`` with the ``live_server`` fixture's small limits (body, series, queue)."""
    return serving(
        tmp_path,
        max_body_bytes=256 * 1024,
        max_series_per_metric=50,
        max_series_per_device=400,
        max_queue=4,
    )


@dataclass
class ServerProcess:
    """``edgewatch server`` in a subprocess (so it can be killed with SIGKILL)."""

    db: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "EDGEWATCH_LOG_LEVEL": "warning"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edgewatch.server.cli",
                    "server",
                    "--db",
                    str(self.db),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        wait_ready(self.url, proc=self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
