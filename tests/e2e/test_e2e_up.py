"""``edgewatch up`` as a newcomer runs it, with the defaults (14 devices at 60×): everything
starts, the demo devices report, the demo baselines and profiles are uploaded, every incident
of the default scenario raises its built-in alert (scaled to the demo's speed), the healthy
devices stay quiet, the rollout gate fails the bad version v2.1 and does not fail v2 (judged
on two healthy v2 devices per hardware class against v1; the demo's latency noise keeps it
from a pass: docs/rollouts.md#limits), and Ctrl-C stops every process it started within
20 s, exit status 0.

Everything is the real thing: subprocesses, the DuckDB file, HTTP, the Streamlit dashboard."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from live_server import REQUEST_TIMEOUT_S, free_port

from edgewatch.contract import parse_instant

UP_TIMEOUT_S = 90.0
"""Training the demo models on a cold cache is the slow part."""
DEVICES_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
ALERTS_TIMEOUT_S = 200.0
"""From "edgewatch is up" until every incident's alert fires: the default scenario's last
incidents start within the fleet's first minute at 60×; BadRollout is the rollout gate's fail, which
needs a few device-hours (wall minutes here) of v2.1, plus the rollups' lag: 120 s at load
average 4, about 170 s at 10. With `up`'s own start, the story stays within five minutes."""

EXPECTED = {
    ("DeviceFeatureDrift", "demo-north-0"),  # sensor_drift
    ("MemoryLeak", "demo-south-0"),  # memory_leak
    ("DevicePredictionDrift", "demo-north-4"),  # unseen_class
    ("PowerRiseAtLoad", "demo-north-6"),  # power_increase
    ("DeviceOffline", "demo-south-3"),  # offline
    ("LatencyP95Regression", "demo-south-1"),  # latency_regression
    ("BadRollout", "v2.1"),  # bad_rollout on demo-north-5
}
"""(rule, device or model version) each incident of the default scenario must fire."""
GOOD_DEVICES = {
    "demo-north-1",
    "demo-north-2",
    "demo-north-3",
    "demo-south-4",
    "demo-south-5",
    "demo-south-6",
}
"""The v2 devices: two per hardware class, all healthy."""
HEALTHY = {"demo-south-2", *GOOD_DEVICES}
GOOD_VERSION, BAD_VERSION, ESTABLISHED = "v2", "v2.1", "v1"
"""No incident changes what a v2 device sees or answers: a drift alert on v2 is a false one."""
VERSION_DRIFT = {"FeatureDrift", "PredictionDrift"}
HARDWARE = {"rpi4", "jetson-nano", "x86-gateway"}
DEVICES = 14
"""The default scenario's devices."""


def _edgewatch() -> list[str]:
    script = Path(sys.executable).with_name("edgewatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "edgewatch.server.cli"]


Up = tuple[subprocess.Popen[bytes], Path, int, int, Path]


# Wall-clock deadlines: judged with nothing else running (`make test` runs these last, alone).
pytestmark = pytest.mark.serial


@pytest.fixture
def up_defaults(tmp_path: Path) -> Iterator[Up]:
    """``edgewatch up`` as ``make up`` runs it: the default scenario's 14 devices at 60×."""
    yield from _run_up(tmp_path)


def _run_up(tmp_path: Path, *extra: str) -> Iterator[Up]:
    """``edgewatch up`` with ``extra`` options, its data dir, ports and output file; every
    process left over is killed at teardown."""
    port, dashboard_port = free_port(), free_port()
    data_dir = tmp_path / "data"
    output = tmp_path / "up.log"
    argv = [*_edgewatch(), "up", "--data-dir", str(data_dir), "--port", str(port)]
    argv += ["--dashboard-port", str(dashboard_port), *extra]
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


def _check_what_up_set_up(client: httpx.Client, url: str, dashboard_port: int) -> None:
    """The API wants the token; every demo device reports; the baselines (with labels, so the
    versions are calibrated) and the profiles per hardware label are uploaded; the dashboard
    answers."""
    assert httpx.get(f"{url}/api/v1/devices", timeout=10.0).status_code == 401
    deadline = time.monotonic() + DEVICES_TIMEOUT_S
    devices: set[str] = set()
    while time.monotonic() < deadline and len(devices) < DEVICES:
        answer = client.get("/api/v1/devices")
        assert answer.status_code == 200
        devices = {d["device_id"] for d in answer.json()["devices"]}
        time.sleep(0.5)
    assert len(devices) == DEVICES and devices >= HEALTHY
    baselines = client.get("/api/v1/baselines").json()["baselines"]
    assert {(b["model"], b["version"]) for b in baselines} == {("digits", "v1"), ("digits", "v2")}
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


def _stop(proc: subprocess.Popen[bytes], output: Path) -> None:
    """Ctrl-C: ``up`` exits 0 within 20 s and leaves no child process."""
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


def _rollout(client: httpx.Client, version: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/rollouts/digits/{version}")
    assert answer.status_code == 200, answer.text
    verdict: dict[str, Any] = answer.json()
    return verdict


def _failed_beyond_latency(verdict: dict[str, Any]) -> list[str]:
    """The gate's failed checks other than latency. The demo's latency is thread CPU time of
    14 devices sharing one process on a shared 2-core host, so two devices a side of the very
    same model can read 10-30 % apart and fail v2 on it (docs/rollouts.md#limits)."""
    return [f for f in verdict.get("failed", []) if not f.endswith("/latency")]


def _check_good_version_evidence(verdict: dict[str, Any]) -> None:
    """v2 is judged on every hardware class against v1, with the gate's two canary devices on
    each, and fails nothing but (sometimes) the demo's shared-CPU latency."""
    assert _failed_beyond_latency(verdict) == [], verdict
    classes = {c["hardware_class"]: c for c in verdict["hardware_classes"]}
    assert set(classes) == HARDWARE
    for c in classes.values():
        assert c["compared_with"] == ESTABLISHED, c
        assert c["canary_devices"] == 2, c


def _alert_keys(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (a["labels"]["alertname"], a["labels"].get("device") or a["labels"].get("version", ""))
        for a in alerts
    }


def test_up_default_scenario_raises_each_incidents_alert_and_nothing_on_healthy_devices(
    up_defaults: Up,
) -> None:
    proc, data_dir, port, dashboard_port, output = up_defaults
    _wait_for_text(output, "edgewatch is up", proc, UP_TIMEOUT_S)
    started = time.monotonic()
    up_at_s = time.time()  # the server's fired_at is wall-clock time
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/readyz", timeout=10.0).json()["rule_time_scale"] == 60
    assert "built-in rules scaled to the demo's 60x" in output.read_text()
    token = (data_dir / "admin-token").read_text().strip()
    assert token in output.read_text()
    fired_after: dict[tuple[str, str], float] = {}
    verdicts: dict[str, str] = {}
    alerts: list[dict[str, Any]] = []

    def poll_alerts(client: httpx.Client) -> list[dict[str, Any]]:
        """Every alert now, noting when each key first fired by the server's ``fired_at``
        (not when this loop, slowed by its rollout queries under load, saw it)."""
        answer = client.get("/api/v1/alerts", params={"limit": 1000})
        assert answer.status_code == 200, answer.text
        listed: list[dict[str, Any]] = answer.json()["alerts"]
        for a in sorted(
            (a for a in listed if a["fired_at"] is not None), key=lambda a: a["fired_at"]
        ):
            for key in _alert_keys([a]):
                after_s = parse_instant(a["fired_at"]).timestamp() - up_at_s
                fired_after.setdefault(key, round(after_s, 1))
        return listed

    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT_S
    ) as client:
        _check_what_up_set_up(client, url, dashboard_port)
        while time.monotonic() - started < ALERTS_TIMEOUT_S and not set(fired_after) >= EXPECTED:
            assert proc.poll() is None, output.read_text()
            alerts = poll_alerts(client)
            bad = _rollout(client, BAD_VERSION)
            verdicts[BAD_VERSION] = bad["verdict"]
            assert bad["verdict"] in ("wait", "fail"), bad
            good = _rollout(client, GOOD_VERSION)
            verdicts[GOOD_VERSION] = good["verdict"]
            assert _failed_beyond_latency(good) == [], good
            time.sleep(2.0)
        # An alert that fired in time while the last pass was still querying counts.
        alerts = poll_alerts(client)
        verdicts[BAD_VERSION] = _rollout(client, BAD_VERSION)["verdict"]
        good = _rollout(client, GOOD_VERSION)
    print(f"\nalerts fired, seconds after 'edgewatch is up': {sorted(fired_after.items())}")
    print(f"rollout verdicts at the end: {verdicts}")
    missing = {k for k in EXPECTED if fired_after.get(k, math.inf) > ALERTS_TIMEOUT_S}
    states = sorted({(*k, a["state"]) for a in alerts for k in _alert_keys([a]) if k in missing})
    assert not missing, f"missing: {missing}; their alerts that did not fire: {states}"
    assert verdicts[BAD_VERSION] == "fail", "BadRollout fired: GET /rollouts must say fail too"
    _check_good_version_evidence(good)
    on_healthy = {k for k in _alert_keys(alerts) if k[1] in HEALTHY}
    assert on_healthy == set(), f"alerts on healthy devices: {on_healthy}"
    on_good = {k for k in _alert_keys(alerts) if k[1] == GOOD_VERSION and k[0] in VERSION_DRIFT}
    assert on_good == set(), f"drift alerts on the good version: {on_good}"
    _stop(proc, output)
