"""docs/opentelemetry.md stays true: a plain OpenTelemetry SDK program, configured only by the
standard environment variables the page lists, reports to a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from server_harness import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "opentelemetry.md"


def _doc_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def doc_environment(server_url: str, token: str) -> dict[str, str]:
    env = {}
    for name, value in re.findall(
        r'^export (\w+)="?([^"\n]*)"?$', _doc_block("bash", "OTEL_"), re.M
    ):
        value = value.replace("http://edgewatch.example:4318", server_url)
        env[name] = value.replace("${EDGEWATCH_DEVICE_TOKEN}", token)
    return env


def test_the_documented_environment_and_program_report_to_the_server(
    live_server: LiveServer, tmp_path: Path
) -> None:
    program = tmp_path / "program.py"
    program.write_text(_doc_block("python", "OTLPMetricExporter"))
    device_token = live_server.store.create_token(role="device", device_id="gateway-17").token
    env = {**os.environ, **doc_environment(live_server.url, device_token)}
    assert env["OTEL_RESOURCE_ATTRIBUTES"].startswith("device.id=gateway-17")
    subprocess.run([sys.executable, str(program)], env=env, check=True, timeout=60)

    deadline = time.monotonic() + 20
    with httpx.Client(base_url=live_server.url, headers=live_server.admin()) as client:
        while time.monotonic() < deadline:
            answer = client.get("/api/v1/devices/gateway-17")
            if answer.status_code == 200:
                break
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        device = answer.json()
        assert (device["model_name"], device["model_version"]) == ("digits", "v1")
        end = time.time() + 60
        dist = client.get(
            "/api/v1/distributions",
            params={
                "metric": "ml.inference.duration",
                "device": "gateway-17",
                "from": end - 3600,
                "to": end,
            },
        )
    assert dist.status_code == 200, dist.text
    assert dist.json()["count"] == 1
