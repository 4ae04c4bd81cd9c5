"""``edgewatch up``: the server, the dashboard and a demo fleet on the embedded DuckDB default.

Each part runs as its own process (the server owns the DuckDB file; the dashboard and the demo
reach it over HTTP, as DESIGN.md wants), started in order, watched, and stopped together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from edgewatch.server.settings import load_settings
from edgewatch.server.store import Store

TOKEN_FILE = "admin-token"
STOP_TIMEOUT_S = 15.0


class UpError(RuntimeError):
    """A step of ``edgewatch up`` failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class UpOptions:
    """What ``edgewatch up`` runs and where."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4318
    dashboard_port: int = 8501
    devices: int | None = None
    speed: float = 60.0
    demo: bool = True
    dashboard: bool = True
    ready_timeout_s: float = 60.0

    @property
    def rule_time_scale(self) -> float:
        """The server's rule time scale: the demo's speed, or 1 without the demo."""
        return self.speed if self.demo else 1.0

    @property
    def server_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.dashboard_port}"


@dataclass
class _Children:
    """The processes ``up`` started, stopped in reverse order."""

    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(
        self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        self.procs.append((name, proc))
        return proc

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for _, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def admin_token(db_path: Path, token_file: Path) -> str:
    """The admin token kept in ``token_file``, created (and the file written 0600) when missing or revoked."""
    settings = load_settings(db_path=db_path)
    with Store.open(db_path, settings.store_config(maintenance=False)) as store:
        if token_file.exists():
            token = token_file.read_text().strip()
            principal = store.verify_token(token)
            if principal is not None and principal.role == "admin":
                return token
        token = store.create_token(role="admin", name="edgewatch up").token
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    return token


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise UpError(f"the {what} exited with status {proc.returncode} while starting")
            with suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.2)
    raise UpError(f"the {what} did not answer {url} within {timeout_s:g} s")


def _write_demo_baselines(options: UpOptions, log: Path) -> list[tuple[str, str, Path]]:
    with log.open("ab") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "edgewatch.demo.baselines",
                "--out",
                str(options.data_dir / "demo" / "baselines"),
                "--models-dir",
                str(options.data_dir / "demo" / "models"),
            ],
            stdout=subprocess.PIPE,
            stderr=out,
            check=False,
        )
    if done.returncode != 0:
        raise UpError(f"training the demo models failed (status {done.returncode}); see {log}")
    rows = [line.split("\t") for line in done.stdout.decode().splitlines() if line.strip()]
    return [(model, version, Path(path)) for model, version, path in rows]


def _upload_demo_profiles(options: UpOptions, token: str, log: Path) -> list[str]:
    """Profile the demo's models per hardware label and upload them (the demo does both)."""
    with log.open("ab") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "edgewatch.demo.profiles",
                "--models-dir",
                str(options.data_dir / "demo" / "models"),
                "--server",
                options.server_url,
                "--token",
                token,
            ],
            stdout=subprocess.PIPE,
            stderr=out,
            check=False,
        )
    if done.returncode != 0:
        raise UpError(f"profiling the demo models failed (status {done.returncode}); see {log}")
    return [line for line in done.stdout.decode().splitlines() if line.strip()]


def _upload_baseline(server_url: str, token: str, model: str, version: str, path: Path) -> None:
    with path.open("rb") as f, httpx.Client(timeout=120.0) as client:
        answer = client.post(
            f"{server_url}/api/v1/baselines",
            params={"model": model, "version": version},
            headers={"Authorization": f"Bearer {token}"},
            files={"file": (path.name, f, "text/csv")},
        )
    if answer.status_code not in (200, 201):
        raise UpError(
            f"uploading the {model} {version} baseline failed: {answer.status_code} {answer.text[:300]}"
        )


def _has_baseline(server_url: str, token: str, model: str, version: str) -> bool:
    with httpx.Client(timeout=10.0) as client:
        answer = client.get(
            f"{server_url}/api/v1/baselines", headers={"Authorization": f"Bearer {token}"}
        )
    if answer.status_code != 200:
        return False
    return any(
        b.get("model") == model and b.get("version") == version
        for b in answer.json().get("baselines", [])
    )


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_up(options: UpOptions, console: Console | None = None) -> int:
    """Start everything, print where to look, and run until Ctrl-C; returns the exit status."""
    console = console or Console(stderr=True)
    data_dir = options.data_dir
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "edgewatch.duckdb"
    children = _Children()
    py = sys.executable
    with _stop_requested() as stop:
        try:
            with console.status("preparing the DuckDB file and the admin token ..."):
                token = admin_token(db_path, data_dir / TOKEN_FILE)
            with console.status(f"starting the server on {options.server_url} ..."):
                server = children.start(
                    "server",
                    [
                        py,
                        "-m",
                        "edgewatch.server.cli",
                        "server",
                        "--db",
                        str(db_path),
                        "--host",
                        options.host,
                        "--port",
                        str(options.port),
                        # The demo's time runs `speed` times faster: the built-in rules follow.
                        "--rule-time-scale",
                        f"{options.rule_time_scale:g}",
                    ],
                    logs / "server.log",
                )
                _wait_http(
                    f"{options.server_url}/readyz", server, "server", options.ready_timeout_s
                )
            console.print(
                f"[green]✓[/] server      {options.server_url}   (log: {logs / 'server.log'})"
            )
            if options.rule_time_scale != 1:
                console.print(
                    f"  built-in rules scaled to the demo's {options.rule_time_scale:g}x: "
                    "every window, interval and `for` divided by it (docs/alerts.md)",
                    highlight=False,
                )
            if options.demo:
                with console.status(
                    "training the demo's digits models and uploading baselines ..."
                ):
                    for model, version, path in _write_demo_baselines(options, logs / "demo.log"):
                        if not _has_baseline(options.server_url, token, model, version):
                            _upload_baseline(options.server_url, token, model, version, path)
                console.print("[green]✓[/] baselines   digits v1 and v2 (from the training data)")
                with console.status("profiling the demo's models per hardware label ..."):
                    profiled = _upload_demo_profiles(options, token, logs / "demo.log")
                console.print(
                    f"[green]✓[/] profiles    {len(profiled)} (digits v1, v2, v2.1 × each hardware "
                    "label: latency measured here, power simulated)"
                )
            if options.dashboard:
                with console.status(f"starting the dashboard on {options.dashboard_url} ..."):
                    dashboard = children.start(
                        "dashboard",
                        [
                            py,
                            "-m",
                            "edgewatch.server.cli",
                            "dashboard",
                            "--server",
                            options.server_url,
                            "--port",
                            str(options.dashboard_port),
                            "--host",
                            options.host,
                        ],
                        logs / "dashboard.log",
                        # tokens travel in the environment, not on command lines others can read
                        env={"EDGEWATCH_DASHBOARD_TOKEN": token},
                    )
                    _wait_http(
                        f"{options.dashboard_url}/_stcore/health",
                        dashboard,
                        "dashboard",
                        options.ready_timeout_s,
                    )
                console.print(
                    f"[green]✓[/] dashboard   {options.dashboard_url}   (log: {logs / 'dashboard.log'})"
                )
            if options.demo:
                demo_argv = [
                    py,
                    "-m",
                    "edgewatch.demo",
                    "--server",
                    options.server_url,
                    "--speed",
                    f"{options.speed:g}",
                    "--data-dir",
                    str(data_dir / "demo"),
                    "--forever",
                ]
                if options.devices is not None:
                    demo_argv += ["--devices", str(options.devices)]
                children.start(
                    "demo fleet", demo_argv, logs / "demo.log", env={"EDGEWATCH_TOKEN": token}
                )
                console.print(
                    f"[green]✓[/] demo fleet  reporting to the server   (log: {logs / 'demo.log'})"
                )
            console.print(f"\nadmin token: [bold]{token}[/]  (also in {data_dir / TOKEN_FILE})")
            console.print("edgewatch is up. Ctrl-C stops everything.", highlight=False)
            while not stop.wait(0.5):
                gone = children.exited()
                if gone is not None:
                    name, code = gone
                    raise UpError(f"the {name} stopped unexpectedly with status {code}; see {logs}")
            console.print("stopping ...")
            return 0
        except UpError as e:
            console.print(f"[red]edgewatch up: {e}[/]")
            return 1
        finally:
            children.stop()
