"""Real servers on loopback, for tests and benchmarks: a free port, and waiting until a
server answers ``/readyz``."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

REQUEST_TIMEOUT_S = 60.0
"""Client timeout for a test's request to a test server: above the server's own
``write_timeout_s`` (30 s), so a client never gives up before the server would answer, and
far above httpx's 5 s default, which a loaded CI machine exceeds (a first ``/openapi.json``
took 5.9 s at a load average of 23)."""


def server_command(db: str | Path, port: int, *args: str) -> list[str]:
    """The command line that runs ``edgewatch-server server`` on ``db`` and ``port`` in this
    interpreter, with ``args`` appended."""
    return [
        sys.executable,
        "-m",
        "edgewatch.server.cli",
        "server",
        "--db",
        str(db),
        "--port",
        str(port),
        *args,
    ]


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    timeout_s: float = 30.0,
    verify: bool | ssl.SSLContext = True,
    log: Path | None = None,
) -> None:
    """Poll ``/readyz`` until 200; fail early when ``proc`` died (with ``log``'s text)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0, verify=verify) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                output = f":\n{log.read_text()}" if log is not None else ""
                raise RuntimeError(f"server exited with {proc.returncode}{output}")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout_s} s")
