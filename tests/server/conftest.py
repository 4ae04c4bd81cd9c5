"""Fixtures for the server tests; the machinery lives in ``server_harness``."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
import yaml
from alert_http_sink import Sink, wait_for
from live_server import free_port
from otel_js_client import ClientUnavailableError, install
from prometheus_harness import PROMETHEUS, PROMTOOL
from server_harness import (
    LiveServer,
    ServerProcess,
    running_server,
)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 with a fresh DuckDB file (``running_server``)."""
    with running_server(tmp_path) as server:
        yield server


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    sp = ServerProcess(
        db=tmp_path / "edgewatch.duckdb", port=free_port(), log=tmp_path / "server.log"
    )
    try:
        yield sp
    finally:
        sp.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A real HTTP receiver on loopback that records requests and answers from a script."""
    s = Sink()
    s.up()
    yield s
    s.down()


@pytest.fixture
def down_sink() -> Iterator[Sink]:
    """A receiver nobody listens on until the test calls ``up()``."""
    s = Sink()
    yield s
    s.down()


@pytest.fixture
def waiter() -> Callable[..., None]:
    return wait_for


def skip_loudly(request: pytest.FixtureRequest, reason: str) -> NoReturn:
    """Skip, saying why on the terminal even without -rs: a skipped integration test must be seen."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nSKIPPED: {reason}")
    pytest.skip(reason)


ALERTMANAGER = "prometheus-alertmanager"


@pytest.fixture
def alertmanager(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A real Alertmanager on loopback (skipped, loudly, when the package is missing)."""
    path = shutil.which(ALERTMANAGER)
    if path is None:
        skip_loudly(
            request,
            f"{ALERTMANAGER} is not installed (apt-get install -y prometheus-alertmanager); "
            "the real-Alertmanager test cannot run",
        )
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "route": {"receiver": "blackhole", "group_wait": "1s"},
                "receivers": [{"name": "blackhole"}],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [
            path,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or datetime.now(UTC) > deadline:
                log.flush()
                output = (tmp_path / "alertmanager.log").read_text(errors="replace")
                pytest.fail(f"Alertmanager did not become ready: {output[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _prometheus_binary(request: pytest.FixtureRequest, name: str) -> str:
    path = shutil.which(name)
    if path is None:
        skip_loudly(
            request,
            f"{name} is not installed (apt-get install -y prometheus); "
            "the real-Prometheus test cannot run",
        )
    return path


@pytest.fixture
def prometheus_bin(request: pytest.FixtureRequest) -> str:
    """The path of a real ``prometheus`` (skipped, loudly, when the package is missing)."""
    return _prometheus_binary(request, PROMETHEUS)


@pytest.fixture
def promtool_bin(request: pytest.FixtureRequest) -> str:
    """The path of ``promtool`` from the same package (skipped, loudly, when missing)."""
    return _prometheus_binary(request, PROMTOOL)


@pytest.fixture(scope="session")
def otel_js(request: pytest.FixtureRequest) -> Path:
    """``node_modules`` of the pinned OpenTelemetry JavaScript SDK (``tests/clients/otel-js``),
    installed once per ``package.json``; skipped, loudly, without Node.js and npm."""
    try:
        return install()
    except ClientUnavailableError as e:
        skip_loudly(request, str(e))
