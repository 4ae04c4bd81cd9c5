"""A real Prometheus on loopback for tests: its own config and TSDB in a temp folder, a free
port, and its HTTP API (targets, instant queries, ``promtool``).

A plain module (not a conftest) so test files anywhere can import it by name."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from live_server import free_port

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
T = TypeVar("T")


def poll(fn: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    """Call ``fn`` until it returns something truthy; fail naming ``what`` after a timeout."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout_s} s (last: {last!r})")


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus: its URL and the log its process writes."""

    url: str
    log: Path

    def _api(self, path: str, **params: str) -> Any:
        r = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=5)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health, last error and labels."""
        active: list[dict[str, Any]] = self._api("targets", state="active")["activeTargets"]
        return active

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's vector: ``[{"metric": {labels}, "value": [t, "v"]}]``."""
        data = self._api("query", query=expr)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def metadata(self, metric: str) -> list[dict[str, str]]:
        """The type, help and unit Prometheus learned from the scrape for ``metric``."""
        found: dict[str, list[dict[str, str]]] = self._api("metadata", metric=metric)
        return found.get(metric, [])

    def rules(self) -> list[dict[str, Any]]:
        """The rule groups with each rule's health and last error."""
        groups: list[dict[str, Any]] = self._api("rules")["groups"]
        return groups

    def wait_up(self, job: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """The target of ``job`` once its last scrape succeeded (fails with its last error)."""

        def up() -> dict[str, Any] | None:
            found = [t for t in self.targets() if t["labels"].get("job") == job]
            return found[0] if found and found[0]["health"] == "up" else None

        try:
            return poll(up, f"target {job} up", timeout_s)
        except AssertionError as e:
            raise AssertionError(f"{e}\ntargets: {self.targets()}") from None


def promtool(
    binary: str, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """``promtool args...`` with ``stdin``; its exit status and output, bounded in time."""
    return subprocess.run(
        [binary, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def running_prometheus(binary: str, config: dict[str, Any], folder: Path) -> Iterator[Prometheus]:
    """``prometheus`` with ``config`` on a free loopback port, its TSDB under ``folder``;
    terminated (killed if it lingers) on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    prometheus = Prometheus(f"http://127.0.0.1:{port}", folder / "prometheus.log")
    with prometheus.log.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(prometheus, proc)
        yield prometheus
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(prometheus: Prometheus, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{prometheus.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    output = prometheus.log.read_text(errors="replace")
    raise AssertionError(f"Prometheus did not become ready: {output[-2000:]}")
