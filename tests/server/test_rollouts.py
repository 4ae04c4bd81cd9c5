"""Profiles and the rollout gate against a real server: upload a profile, ingest device-hours of
an established and two canary versions, read the verdicts, and ``edgewatch rollout wait``'s
exit codes (pass 0, fail 1, timeout 2) from a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from otlp_wire import collector_body, collector_headers, device_batch, kv, sum_metric
from server_harness import ROOT, LiveServer

from edgewatch.collector import semconv

HOUR_NS = 3_600_000_000_000


def _post_hours(
    server: LiveServer,
    device: str,
    version: str,
    hardware: str,
    latency_s: float,
    hours: int = 4,
    accuracy: float | None = None,
) -> None:
    r = httpx.post(
        f"{server.url}/api/v1/tokens",
        json={"role": "device", "device_id": device},
        headers=server.admin(),
    )
    token = r.json()["token"]
    now_ns = time.time_ns()
    rng = np.random.default_rng(abs(hash(device)) % 2**32)
    for k in range(hours):
        batch = device_batch(
            device,
            end_ns=now_ns - k * HOUR_NS,
            inferences=6000,
            errors=30,
            features=1,
            model_version=version,
            rng=rng,
            latency_s=latency_s,
        )
        if accuracy is not None:  # 400 late labels of this hour's inferences
            right = round(400 * accuracy)
            batch.resource_metrics[0].scope_metrics[0].metrics.append(
                sum_metric(
                    semconv.LABEL_COUNT,
                    [
                        (right, [kv(semconv.PREDICTION_CLASS, "a"), kv(semconv.LABEL_CLASS, "a")]),
                        (400 - right, [kv(semconv.PREDICTION_CLASS, "a"), kv(semconv.LABEL_CLASS, "b")]),
                    ],
                    now_ns - k * HOUR_NS - 60 * 10**9,
                    now_ns - k * HOUR_NS,
                )
            )  # fmt: skip
        attrs = batch.resource_metrics[0].resource.attributes
        for i, a in enumerate(attrs):
            if a.key == semconv.HARDWARE:
                attrs[i].CopyFrom(kv(semconv.HARDWARE, hardware))
        r = httpx.post(
            f"{server.url}{semconv.METRICS_PATH}",
            content=collector_body(batch),
            headers=collector_headers(token),
        )
        assert r.status_code == 200, r.text
    server.store.roll_up()  # the gate reads the 1-hour rollups


def _profile_body(version: str, hardware: str, mean_s: float) -> dict[str, object]:
    return {
        "model": "classifier",
        "version": version,
        "hardware_class": hardware,
        "report": {
            "latency": {
                "runs": 100,
                "mean_s": mean_s,
                "p50_s": mean_s,
                "p95_s": 2 * mean_s,
                "p99_s": 3 * mean_s,
            },
            "energy": {
                "joules_per_inference": None,
                "source": None,
                "relative_error": None,
                "tried": [],
            },
            "predictions": {"accuracy": 0.93},
            "runtime": "onnxruntime 1.32.0",
        },
    }


def _wait(
    server: LiveServer, version: str, timeout: str = "20s"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "edgewatch.server.cli",
            "rollout",
            "wait",
            "--model",
            "classifier",
            "--version",
            version,
            "--timeout",
            timeout,
            "--interval",
            "1s",
            "--server",
            server.url,
            "--token",
            server.tokens.admin,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture
def fleet(live_server: LiveServer) -> LiveServer:
    """rpi5: v1 established on 4 devices, v2 (same speed) and v2.1 (1.5× slower) on 3 each."""
    _post_hours(live_server, "old-3", "v1", "rpi5", 0.02)
    for i in range(3):
        _post_hours(live_server, f"old-{i}", "v1", "rpi5", 0.02)
        _post_hours(live_server, f"good-{i}", "v2", "rpi5", 0.02)
        _post_hours(live_server, f"bad-{i}", "v2.1", "rpi5", 0.03)
    return live_server


def test_profiles_upload_and_list(live_server: LiveServer) -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/profiles",
        json=_profile_body("v2", "jetson-nano", 0.01),
        headers=live_server.admin(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["latency_p95_s"] == 0.02
    again = httpx.post(
        f"{live_server.url}/api/v1/profiles",
        json=_profile_body("v2", "jetson-nano", 0.012),
        headers=live_server.admin(),
    )
    assert again.status_code == 201
    listed = httpx.get(
        f"{live_server.url}/api/v1/profiles",
        params={"model": "classifier", "report": True},
        headers=live_server.admin(),
    ).json()["profiles"]
    assert len(listed) == 1 and listed[0]["latency_mean_s"] == 0.012
    assert listed[0]["report"]["runtime"] == "onnxruntime 1.32.0"
    httpx.post(
        f"{live_server.url}/api/v1/profiles",
        json=_profile_body("v1", "jetson-nano", 0.01),
        headers=live_server.admin(),
    ).raise_for_status()
    compared = httpx.get(
        f"{live_server.url}/api/v1/profiles/compare",
        params={"model": "classifier", "version": "v2", "against": "v1"},
        headers=live_server.admin(),
    ).json()
    assert compared["summary"] == "v2 vs v1: p95 1.2x"
    bad = _profile_body("v2", "rpi5", 0.01)
    bad["report"] = {"latency": {"runs": 0}}
    r = httpx.post(f"{live_server.url}/api/v1/profiles", json=bad, headers=live_server.admin())
    assert r.status_code == 422
    assert httpx.get(f"{live_server.url}/api/v1/profiles", params={"model": "x"}).status_code == 401


def test_rollout_verdicts_and_wait_exit_codes(fleet: LiveServer) -> None:
    get = lambda version: httpx.get(  # noqa: E731
        f"{fleet.url}/api/v1/rollouts/classifier/{version}", headers=fleet.admin()
    ).json()
    bad = get("v2.1")
    assert bad["verdict"] == "fail"
    assert "rpi5/latency" in bad["failed"]
    (rpi,) = bad["hardware_classes"]
    assert rpi["compared_with"] == "v1" and rpi["canary_devices"] == 3
    latency = next(s for s in rpi["signals"] if s["signal"] == "latency")
    assert latency["estimate"] == pytest.approx(1.5, rel=0.1)
    assert latency["lower"] > 1.05
    good = get("v2")
    assert good["verdict"] == "pass", good
    assert get("v9")["verdict"] == "wait"

    assert _wait(fleet, "v2").returncode == 0
    failed = _wait(fleet, "v2.1")
    assert failed.returncode == 1
    assert "rpi5/latency" in failed.stderr
    started = time.monotonic()
    timed_out = _wait(fleet, "v9", timeout="2s")
    assert timed_out.returncode == 2
    assert "timed out" in timed_out.stderr
    assert time.monotonic() - started < 60


def test_a_class_without_established_version_compares_with_the_profile(
    live_server: LiveServer,
) -> None:
    for i in range(2):
        _post_hours(live_server, f"nano-{i}", "v2", "jetson-nano", 0.02)
    httpx.post(
        f"{live_server.url}/api/v1/profiles",
        json=_profile_body("v2", "jetson-nano", 0.01),
        headers=live_server.admin(),
    ).raise_for_status()
    v = httpx.get(
        f"{live_server.url}/api/v1/rollouts/classifier/v2", headers=live_server.admin()
    ).json()
    (nano,) = v["hardware_classes"]
    assert nano["compared_with"] == "profile"
    assert [s["signal"] for s in nano["signals"]] == ["latency"]
    assert v["verdict"] == "fail" and v["failed"] == ["jetson-nano/latency"]


def test_measured_accuracy_fails_a_canary_that_is_as_fast(live_server: LiveServer) -> None:
    """Late labels reach the gate: a version 8 points less accurate, at the same speed, fails
    on accuracy alone."""
    for i in range(4):
        _post_hours(live_server, f"old-{i}", "v1", "rpi5", 0.02, accuracy=0.95)
    for i in range(3):
        _post_hours(live_server, f"new-{i}", "v3", "rpi5", 0.02, accuracy=0.87)
    v = httpx.get(
        f"{live_server.url}/api/v1/rollouts/classifier/v3", headers=live_server.admin()
    ).json()
    assert v["verdict"] == "fail" and v["failed"] == ["rpi5/accuracy"], v
    (rpi,) = v["hardware_classes"]
    accuracy = next(s for s in rpi["signals"] if s["signal"] == "accuracy")
    assert accuracy["estimate"] == pytest.approx(0.08, abs=0.005)  # points worse


def test_profile_upload_from_the_device_command(live_server: LiveServer, tmp_path: Path) -> None:
    """``edgewatch profile --upload`` on the demo's real ONNX model stores what it measured."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    from edgewatch.demo._model import V2, load_models

    models = load_models(tmp_path / "models", versions=(V2,))
    sample = tmp_path / "sample.npz"
    np.savez(sample, x=models.data.test_x[:40], y=models.data.test_y[:40])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgewatch.server.cli",
            "profile",
            str(models[V2].path),
            "--inputs",
            str(sample),
            "--runs",
            "20",
            "--warmup",
            "2",
            "--root",
            str(tmp_path),
            "--hardware",
            "ci-x86",
            "--upload",
            "--server",
            live_server.url,
            "--token",
            live_server.tokens.admin,
            "--model",
            "digits",
            "--version",
            "v2",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "uploaded: digits v2 on ci-x86" in done.stderr
    (stored,) = httpx.get(
        f"{live_server.url}/api/v1/profiles",
        params={"model": "digits", "report": True},
        headers=live_server.admin(),
    ).json()["profiles"]
    assert stored["hardware_class"] == "ci-x86"
    assert 0 < stored["latency_p50_s"] <= stored["latency_p95_s"]
    assert stored["energy_j"] is None and stored["accuracy"] > 0.8
    assert {t["status"] for t in stored["report"]["energy"]["tried"]} == {"missing"}
