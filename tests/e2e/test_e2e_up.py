"""``edgewatch up`` as a newcomer runs it: everything starts, the demo devices report, the demo
baselines are uploaded, and Ctrl-C stops every process it started within 20 s, exit status 0.

Everything is the real thing: subprocesses, the DuckDB file, HTTP, the Streamlit dashboard."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from live_server import free_port

UP_TIMEOUT_S = 90.0
"""Training the demo models on a cold cache is the slow part."""
DEVICES_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def _edgewatch() -> list[str]:
    script = Path(sys.executable).with_name("edgewatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "edgewatch.server.cli"]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, int, int, Path]]:
    """``edgewatch up`` with 3 demo devices at 600×, its data dir, port and output file; every
    process left over is killed at teardown."""
    port, dashboard_port = free_port(), free_port()
    data_dir = tmp_path / "data"
    output = tmp_path / "up.log"
    argv = [*_edgewatch(), "up", "--data-dir", str(data_dir), "--port", str(port)]
    argv += ["--dashboard-port", str(dashboard_port), "--devices", "3", "--speed", "600"]
    with output.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, data_dir, port, dashboard_port, output
    finally:
        leftovers = []
        if proc.poll() is None:
            leftovers = psutil.Process(proc.pid).children(recursive=True)
            proc.kill()
            proc.wait(10)
        for child in leftovers:
            if child.is_running():
                child.kill()
        psutil.wait_procs(leftovers, timeout=10)


def _wait_for_text(
    output: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in output.read_text(errors="replace"):
            return
        assert proc.poll() is None, (
            f"edgewatch up exited with {proc.returncode}:\n{output.read_text()}"
        )
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {timeout_s} s:\n{output.read_text()}")


def test_up_runs_the_demo_and_stops_everything_on_ctrl_c(
    up: tuple[subprocess.Popen[bytes], Path, int, int, Path],
) -> None:
    proc, data_dir, port, dashboard_port, output = up
    _wait_for_text(output, "edgewatch is up", proc, UP_TIMEOUT_S)
    token = (data_dir / "admin-token").read_text().strip()
    assert token in output.read_text()
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0
    ) as client:
        assert httpx.get(f"{url}/api/v1/devices", timeout=10.0).status_code == 401
        deadline = time.monotonic() + DEVICES_TIMEOUT_S
        devices: set[str] = set()
        while time.monotonic() < deadline and len(devices) < 3:
            answer = client.get("/api/v1/devices")
            assert answer.status_code == 200
            devices = {d["device_id"] for d in answer.json()["devices"]}
            time.sleep(0.5)
        assert devices == {"demo-north-0", "demo-south-0", "demo-north-1"}
        baselines = client.get("/api/v1/baselines").json()["baselines"]
        assert {(b["model"], b["version"]) for b in baselines} == {
            ("digits", "v1"),
            ("digits", "v2"),
        }
        profiles = client.get("/api/v1/profiles", params={"model": "digits"}).json()["profiles"]
        assert {(p["version"], p["hardware_class"]) for p in profiles} == {
            (v, hw) for v in ("v1", "v2", "v2.1") for hw in ("rpi4", "jetson-nano", "x86-gateway")
        }
        assert {p["energy_source"] for p in profiles} == {"simulated"}
        performance = client.get("/api/v1/performance", params={"model_name": "digits"})
        assert performance.status_code == 200, performance.text
        assert set(performance.json()["calibrated_versions"]) <= {"v1", "v2"}
        assert performance.json()["calibrated_versions"], "the demo baselines carry labels"

    health = httpx.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=10.0)
    assert health.status_code == 200
    assert "default scenario on 3 devices" in (data_dir / "logs" / "demo.log").read_text()

    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 3  # the server, the dashboard and the demo fleet
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert proc.wait(STOP_TIMEOUT_S) == 0, output.read_text()
    _gone, alive = psutil.wait_procs(
        children, timeout=max(0.1, STOP_TIMEOUT_S - (time.monotonic() - started))
    )
    assert alive == [], f"children left running: {alive}"
    assert time.monotonic() - started <= STOP_TIMEOUT_S
