"""Machinery of the end-to-end suite: a real ``edgewatch server`` subprocess, the demo's
baselines uploaded over HTTP, and a poller that records when each alert started firing.

A plain module with a unique name (not a conftest), so it never shadows another test
folder's helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from live_server import wait_ready

from edgewatch.server.settings import Settings
from edgewatch.server.store import Store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def create_admin_token(db: Path) -> str:
    """An admin token in a fresh DuckDB file (opened briefly, before the server owns it)."""
    with Store.open(db, Settings(db_path=db).store_config(maintenance=False)) as store:
        return store.create_token(role="admin", name="e2e").token


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> int:
    """SIGTERM, wait, SIGKILL if needed; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return int(proc.returncode)


@contextmanager
def server_process(
    db: Path, port: int, log: Path, env: Mapping[str, str], *extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``edgewatch server`` (the built-in rules unless ``extra`` names others) with extra
    options and ``EDGEWATCH_*`` settings, ready on return; stopped (and waited for) when the
    block ends."""
    argv = [sys.executable, "-m", "edgewatch.server.cli", "server", "--db", str(db)]
    argv += ["--host", "127.0.0.1", "--port", str(port), *extra]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=ROOT
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, log=log)
        yield proc
    finally:
        stop_process(proc)


def upload_demo_baselines(
    client: httpx.Client, out_dir: Path, models_dir: Path
) -> list[tuple[str, str]]:
    """Train (or load) the demo models, write their reference CSVs with
    ``python -m edgewatch.demo.baselines`` and upload each through ``POST /api/v1/baselines``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgewatch.demo.baselines",
            "--out",
            str(out_dir),
            "--models-dir",
            str(models_dir),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    uploaded = []
    for line in done.stdout.decode().splitlines():
        model, version, path = line.split("\t")
        with Path(path).open("rb") as f:
            answer = client.post(
                "/api/v1/baselines",
                params={"model": model, "version": version},
                files={"file": (Path(path).name, f, "text/csv")},
            )
        answer.raise_for_status()
        uploaded.append((model, version))
    return uploaded


def parse_time(text: str) -> float:
    """Unix seconds of an RFC 3339 time as the API writes it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert that reached ``firing`` at some point of the run."""

    fingerprint: str
    rule: str
    labels: Mapping[str, str]
    fired_at_s: float
    value: float | None

    @property
    def device(self) -> str | None:
        return self.labels.get("device")

    @property
    def version(self) -> str | None:
        return self.labels.get("version")


@dataclass
class AlertWatch:
    """Every alert seen firing over the run, first sighting kept (alerts that resolve stay
    listed by the API for 15 minutes, so a poll every second sees each one)."""

    client: httpx.Client
    fired: dict[str, FiredAlert] = field(default_factory=dict)

    def poll(self) -> dict[str, FiredAlert]:
        """Fetch the current alerts and record those that fired."""
        answer = self.client.get("/api/v1/alerts", params={"limit": 1000})
        answer.raise_for_status()
        for alert in answer.json()["alerts"]:
            fired_at = alert.get("fired_at")
            if fired_at is None or alert["fingerprint"] in self.fired:
                continue
            self.fired[alert["fingerprint"]] = FiredAlert(
                fingerprint=alert["fingerprint"],
                rule=alert["rule"],
                labels=dict(alert["labels"]),
                fired_at_s=parse_time(fired_at),
                value=alert.get("value"),
            )
        return self.fired


def series_total(
    client: httpx.Client, metric: str, device_id: str, start_s: float, end_s: float
) -> float:
    """The sum of a delta counter for one device over ``[start_s, end_s)``, from raw points
    (a step that is no multiple of 60 s reads raw data, not the lagging rollups)."""
    answer = client.get(
        "/api/v1/series",
        params={
            "metric": metric,
            "device_id": device_id,
            "start": start_s,
            "end": end_s,
            "step": 997,
            "agg": "sum",
        },
    )
    answer.raise_for_status()
    points: list[list[Any]] = answer.json()["points"]
    return float(sum(value for _, value in points))
