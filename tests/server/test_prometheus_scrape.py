"""A real Prometheus scrapes a running server with the scrape config docs/operations.md shows,
and answers what a Prometheus user would ask of it: the target is up, the ingest and
per-device counters match what the devices sent and grow, the documented rules evaluate,
a token-protected /metrics is scraped with the documented authorization; ``promtool`` finds
nothing wrong with the exposition, the documented config and rules, or docker's copies."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from otlp_wire import collector_body, collector_headers, device_batch, point_count
from prometheus_harness import Prometheus, poll, promtool, running_prometheus
from server_harness import ServerProcess, Tokens, make_tokens

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
DOCKER = ROOT / "docker"
SECTION = "### Scraping with Prometheus"
OPENMETRICS = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def _documented_blocks() -> list[dict[str, Any]]:
    """The ``yaml`` blocks of docs/operations.md's scraping section, parsed."""
    text = OPERATIONS.read_text()
    assert SECTION in text, f"{OPERATIONS.name} lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def _documented(key: str) -> dict[str, Any]:
    """The one block of the scraping section whose top level has ``key``."""
    (block,) = [b for b in _documented_blocks() if key in b]
    return block


def documented_config() -> dict[str, Any]:
    """The scrape config docs/operations.md shows."""
    return _documented("scrape_configs")


def documented_rules() -> dict[str, Any]:
    """The alerting and recording rules docs/operations.md shows."""
    return _documented("groups")


def documented_authorization(token_file: Path) -> dict[str, Any]:
    """The ``authorization`` docs/operations.md adds to the job, reading ``token_file``."""
    (how,) = _documented("authorization").values()
    assert set(how) == {"credentials_file"}, how
    return {"credentials_file": str(token_file)}


def _scraping(config: dict[str, Any], target: str) -> dict[str, Any]:
    """The documented config pointed at ``target`` and scraping every second."""
    (job,) = config["scrape_configs"]
    job = {**job, "scrape_interval": "1s", "static_configs": [{"targets": [target]}]}
    return {**config, "scrape_configs": [job]}


def _send(url: str, tokens: Tokens, device: str, batches: int, end_ns: int) -> int:
    """``batches`` one-minute exports of ``device``; the data points they carry."""
    token = tokens.device_a if device == "dev-a" else tokens.device_b
    points = 0
    for i in range(batches):
        request = device_batch(device, end_ns=end_ns - (batches - i) * 60 * 10**9, features=4)
        r = httpx.post(
            f"{url}/v1/metrics",
            content=collector_body(request),
            headers=collector_headers(token),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        points += point_count(request)
    return points


def _value(prometheus: Prometheus, expr: str) -> float | None:
    result = prometheus.query(expr)
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else None


def _equals(prometheus: Prometheus, expr: str, expected: float) -> None:
    """Wait until Prometheus' newest sample of ``expr`` is ``expected``."""
    poll(lambda: _value(prometheus, expr) == expected, f"{expr} == {expected}")


def _evaluated(prometheus: Prometheus) -> list[dict[str, Any]] | None:
    """The rule groups once every rule was evaluated at least once."""
    groups = prometheus.rules()
    done = groups and all(r["health"] != "unknown" for g in groups for r in g["rules"])
    return groups if done else None


@pytest.fixture
def server(server_process: ServerProcess) -> tuple[ServerProcess, Tokens]:
    tokens = make_tokens(server_process.db)
    server_process.start()
    return server_process, tokens


def test_documented_scrape_config_passes_promtool(promtool_bin: str, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(documented_config()))
    checked = promtool(promtool_bin, "check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_documented_rules_pass_promtool(promtool_bin: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(documented_rules()))
    checked = promtool(promtool_bin, "check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout, checked.stdout


def test_docker_prometheus_runs_the_documented_job_and_rules() -> None:
    docker = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    (job,) = docker["scrape_configs"]
    (documented,) = documented_config()["scrape_configs"]
    assert {**job, "static_configs": []} == {**documented, "static_configs": []}
    assert job["static_configs"] == [{"targets": ["server:8000"]}]
    assert yaml.safe_load((DOCKER / "prometheus.rules.yml").read_text()) == documented_rules()


def test_docker_prometheus_config_passes_promtool(promtool_bin: str, tmp_path: Path) -> None:
    docker = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    docker["rule_files"] = [str(DOCKER / "prometheus.rules.yml")]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(docker))
    checked = promtool(promtool_bin, "check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout, checked.stdout


def test_exposition_passes_promtool_lint(
    server: tuple[ServerProcess, Tokens], promtool_bin: str
) -> None:
    proc, tokens = server
    _send(proc.url, tokens, "dev-a", 2, time.time_ns())
    scrape = httpx.get(f"{proc.url}/metrics", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "content-encoding" not in scrape.headers
    checked = promtool(promtool_bin, "check", "metrics", stdin=scrape.content)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == checked.stderr.strip() == "", checked
    assert "_created" not in scrape.text  # one series per counter, not two


def test_openmetrics_is_offered_to_prometheus(server: tuple[ServerProcess, Tokens]) -> None:
    proc, tokens = server
    _send(proc.url, tokens, "dev-a", 1, time.time_ns())
    scrape = httpx.get(
        f"{proc.url}/metrics",
        headers={"Accept": OPENMETRICS, "Accept-Encoding": "gzip"},
        timeout=10,
    )
    assert scrape.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert scrape.headers["content-encoding"] == "gzip"
    assert scrape.text.endswith("# EOF\n")
    assert "# TYPE edgewatch_ingest_requests counter" in scrape.text
    assert 'edgewatch_ingest_requests_total{outcome="ok"} 1.0' in scrape.text


def test_real_prometheus_scrapes_the_server(
    server: tuple[ServerProcess, Tokens], prometheus_bin: str, tmp_path: Path
) -> None:
    proc, tokens = server
    now_ns = time.time_ns()
    points = _send(proc.url, tokens, "dev-a", 3, now_ns) + _send(
        proc.url, tokens, "dev-b", 2, now_ns
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(documented_rules()))
    config = _scraping(documented_config(), f"127.0.0.1:{proc.port}")
    config["global"] = {"evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    job = config["scrape_configs"][0]["job_name"]
    with running_prometheus(prometheus_bin, config, tmp_path / "prometheus") as prometheus:
        target = prometheus.wait_up(job)
        assert target["lastError"] == ""
        assert target["scrapeUrl"] == f"http://127.0.0.1:{proc.port}/metrics"
        _equals(prometheus, f'up{{job="{job}"}}', 1)
        _equals(prometheus, 'edgewatch_ingest_requests_total{outcome="ok"}', 5)
        _equals(prometheus, 'edgewatch_ingest_points_total{outcome="stored"}', points)
        _equals(prometheus, "edgewatch_writer_batches_total", 5)
        _equals(
            prometheus, 'edgewatch_devices_online{model_name="classifier",model_version="1.0.0"}', 2
        )
        assert prometheus.metadata("edgewatch_ingest_requests")[0]["type"] == "counter"
        memory = _value(prometheus, f'process_resident_memory_bytes{{job="{job}"}}')
        assert memory is not None and memory > 10e6  # the server process's own, as exporters do
        # per device: device_batch sends 600 inferences a minute, 3 of them errors
        inferences = "edgewatch_device_inferences_total"
        a = '{device_id="dev-a",model_name="classifier",model_version="1.0.0"'
        _equals(prometheus, f'{inferences}{a},outcome="ok"}}', 3 * 597)
        _equals(prometheus, f'{inferences}{a},outcome="error"}}', 3 * 3)
        _equals(prometheus, f'sum({inferences}{{device_id="dev-b"}})', 2 * 600)
        silent = _value(
            prometheus,
            f'time() - edgewatch_device_last_seen_timestamp_seconds{a},fleet="fleet-a"}}',
        )
        assert silent is not None and 0 <= silent < 120

        more = _send(proc.url, tokens, "dev-b", 2, time.time_ns())
        _equals(prometheus, 'edgewatch_ingest_requests_total{outcome="ok"}', 7)
        _equals(prometheus, 'edgewatch_ingest_points_total{outcome="stored"}', points + more)
        _equals(prometheus, f'sum({inferences}{{device_id="dev-b"}})', 4 * 600)
        rate = "model_version:edgewatch_device_inferences:rate5m"
        assert poll(lambda: _value(prometheus, f'{rate}{{outcome="ok"}}'), rate) > 0
        groups = poll(lambda: _evaluated(prometheus), "every rule evaluated")
        assert {r["name"] for g in groups for r in g["rules"]} >= {"EdgewatchDown", rate}
        assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups
        assert prometheus.query('ALERTS{alertname=~"Edgewatch.*"}') == []
        increase = _value(prometheus, 'increase(edgewatch_ingest_requests_total{outcome="ok"}[1m])')
        assert increase is not None and increase > 0
        assert prometheus.query('{__name__=~"edgewatch_.*_created"}') == []


def test_real_prometheus_scrapes_with_the_documented_token(
    server_process: ServerProcess,
    prometheus_bin: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = make_tokens(server_process.db)
    monkeypatch.setenv("EDGEWATCH_METRICS_NEED_TOKEN", "true")
    # the tokenless job fails once a second: keep the failed-auth limiter (429) out of it
    monkeypatch.setenv("EDGEWATCH_AUTH_FAILURE_BURST", "100000")
    server_process.start()
    _send(server_process.url, tokens, "dev-a", 1, time.time_ns())
    assert httpx.get(f"{server_process.url}/metrics", timeout=10).status_code == 401
    with_device_token = {"Authorization": f"Bearer {tokens.device_a}"}
    assert httpx.get(f"{server_process.url}/metrics", headers=with_device_token).status_code == 403
    token_file = tmp_path / "edgewatch.token"
    token_file.write_text(tokens.admin)
    config = _scraping(documented_config(), f"127.0.0.1:{server_process.port}")
    (job,) = config["scrape_configs"]
    bare = {**job, "job_name": "without-token"}
    config["scrape_configs"] = [
        {**job, "authorization": documented_authorization(token_file)},
        bare,
    ]
    with running_prometheus(prometheus_bin, config, tmp_path / "prometheus") as prometheus:
        prometheus.wait_up(job["job_name"])
        _equals(prometheus, 'edgewatch_ingest_requests_total{outcome="ok"}', 1)
        refused = poll(
            lambda: [
                t
                for t in prometheus.targets()
                if t["labels"]["job"] == "without-token" and t["health"] == "down"
            ],
            "the scrape without a token refused",
        )
        assert "401" in refused[0]["lastError"], refused
