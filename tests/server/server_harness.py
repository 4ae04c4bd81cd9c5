"""Real servers for tests: uvicorn in a thread (in-process) or ``edgewatch server`` in a subprocess.

A plain module (not a conftest) so test files anywhere can import it by name."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from edgewatch.server.app import create_app
from edgewatch.server.settings import Settings
from edgewatch.server.store import Store

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str,
    timeout_s: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
    verify: bool | ssl.SSLContext = True,
) -> None:
    """Poll ``/readyz`` until 200 (fails early when the subprocess died)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0, verify=verify) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout_s} s")


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
