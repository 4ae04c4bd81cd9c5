"""One device sending ``ml.inference.duration`` as a gauge, beside devices sending it as a
histogram, changes no fleet or version answer: quantiles, distributions, the fleet summary and
the built-in rules read the histograms and name the device left out, as on a server without it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import collector_body, collector_headers, device_batch, gauge_metric
from otlp_wire import resource_attributes as resource
from server_harness import LiveServer, running_server

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s

pytestmark = pytest.mark.timeout(120)
DURATION = semconv.INFERENCE_DURATION
GAUGE_S = 0.5


def _post(server: LiveServer, device: str, request: ExportMetricsServiceRequest) -> None:
    token = server.store.create_token(role="device", device_id=device).token
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(request),
        headers=collector_headers(token),
    )
    assert r.status_code == 200, r.text


def _gauge_latency(device: str, now_ns: int) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource(device))
    rm.scope_metrics.add().metrics.append(
        gauge_metric(DURATION, "s", [(GAUGE_S, ())], now_ns - 60 * 10**9, now_ns - 10**9)
    )
    return request


def _fill(server: LiveServer, now_ns: int, *, gauge_device: bool) -> None:
    for device, latency in (("dev-a", 0.02), ("dev-c", 0.04)):
        _post(server, device, device_batch(device, end_ns=now_ns - 10**9, latency_s=latency))
    if gauge_device:
        _post(server, "dev-b", _gauge_latency("dev-b", now_ns))
    server.store.roll_up()


def _get(server: LiveServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers=server.admin())


def _answers(server: LiveServer, window: dict[str, float]) -> dict[str, Any]:
    """What the fleet and version views show of the latency, and what the rules concluded."""
    out: dict[str, Any] = {}
    for scope, selection in (
        ("fleet", {}),
        ("version", {"model": "classifier", "version": "1.0.0"}),
    ):
        for agg in ("p50", "p95", "p99"):
            r = _get(
                server, "/api/v1/series", metric=DURATION, agg=agg, step=3600,
                **selection, **window,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            out[f"{scope} {agg}"] = r.json()
        r = _get(server, "/api/v1/distributions", metric=DURATION, **selection, **window)
        assert r.status_code == 200, r.text
        out[f"{scope} distribution"] = r.json()
    summary = _get(server, "/api/v1/fleet/summary", **window)
    assert summary.status_code == 200, summary.text
    out["summary latency"] = {
        (v["model_name"], v["model_version"]): v["latency_s"] for v in summary.json()["versions"]
    }
    now = from_unix_s(window["end"])
    evaluations = server.app.state.alerting.scheduler.run_once(now)
    out["alerts"] = sorted(
        (a.rule, a.state.value, a.value)
        for e in evaluations
        for a in e.alerts
        if a.labels.get("device") != "dev-b"
    )
    rules = _get(server, "/api/v1/rules").json()["rules"]
    out["rule errors"] = {r["name"]: r["last_error"] for r in rules}
    return out


def _without_left_out(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {k: v for k, v in a.items() if k != "left_out_devices"} if isinstance(a, dict) else a
        for name, a in answers.items()
    }


def test_a_device_sending_latency_as_a_gauge_changes_no_fleet_answer(tmp_path: Path) -> None:
    now_ns = time.time_ns()
    window = {"start": now_ns / 1e9 - 3600, "end": now_ns / 1e9 + 60}
    (tmp_path / "mixed").mkdir()
    (tmp_path / "clean").mkdir()
    with running_server(tmp_path / "mixed") as mixed, running_server(tmp_path / "clean") as clean:
        _fill(mixed, now_ns, gauge_device=True)
        _fill(clean, now_ns, gauge_device=False)
        seen, expected = _answers(mixed, window), _answers(clean, window)

        assert expected["fleet p95"]["points"] and expected["fleet distribution"]["count"] == 1200
        assert _without_left_out(seen) == _without_left_out(expected)
        for name in ("fleet p95", "version p99", "fleet distribution", "version distribution"):
            assert seen[name]["left_out_devices"] == ["dev-b"], name
            assert expected[name]["left_out_devices"] == [], name
        assert set(seen["rule errors"].values()) == {None}

        # The gauge device alone still has no quantiles and no distribution.
        one = _get(mixed, "/api/v1/series", metric=DURATION, agg="p95", device="dev-b", **window)
        assert one.status_code == 400 and "no quantiles" in one.json()["detail"]
        dist = _get(mixed, "/api/v1/distributions", metric=DURATION, device="dev-b", **window)
        assert dist.status_code == 400 and "no distribution" in dist.json()["detail"]

        # A gauge aggregation over the fleet reads the gauge, naming the histogram devices.
        avg = _get(mixed, "/api/v1/series", metric=DURATION, agg="max", step=3600, **window)
        assert avg.status_code == 200, avg.text
        assert avg.json()["kind"] == "gauge"
        assert [v for _, v in avg.json()["points"]] == [GAUGE_S]
        assert avg.json()["left_out_devices"] == ["dev-a", "dev-c"]
