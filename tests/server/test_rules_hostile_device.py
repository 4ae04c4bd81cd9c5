"""The built-in rules judge every device on its own data: a device that sends its counter as
a histogram beside a summary of the same name, and values whose sums overflow the floats,
gets insufficient-data results saying why, while every other device's results are exactly
those of a fleet without it and every rule still runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import collector_body, collector_headers, device_batch, kv
from server_harness import LiveServer, serving

from edgewatch.collector import semconv
from edgewatch.server.alerting import AlertingService

pytestmark = pytest.mark.timeout(240)
NOW_S = float(int(time.time()) // 60 * 60)
"""Both servers hold the same data times and are judged at the same instant."""
_RECEIVE_TIME_RULES = {"DeviceClockSkew"}
"""Rules whose score is the receive time minus the data time: not comparable across runs."""


def _post(server: LiveServer, request: ExportMetricsServiceRequest, token: str) -> None:
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(request),
        headers=collector_headers(token),
        timeout=30,
    )
    assert r.status_code == 200, r.text


def _hostile(end_ns: int) -> ExportMetricsServiceRequest:
    """dev-b on its own model and hardware: ``ml.inference.count`` as an explicit histogram
    and as a summary's ``.count``, and memory and power near the largest float."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        [
            kv(semconv.DEVICE_ID, "dev-b"),
            kv(semconv.MODEL_NAME, "other"),
            kv(semconv.MODEL_VERSION, "9.9.9"),
            kv(semconv.HARDWARE, "other-board"),
        ]
    )
    metrics = rm.scope_metrics.add().metrics
    start_ns = end_ns - 60 * 10**9
    count = metrics.add(name=semconv.INFERENCE_COUNT)
    count.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    point = count.histogram.data_points.add(
        start_time_unix_nano=start_ns, time_unix_nano=end_ns, count=3, sum=1.0
    )
    point.explicit_bounds.append(1.0)
    point.bucket_counts.extend([1, 2])
    summary = metrics.add(name="ml.inference")
    summary.summary.data_points.add(time_unix_nano=end_ns, count=5, sum=1.0)
    for name in (semconv.PROCESS_MEMORY_USAGE, semconv.HW_POWER):
        gauge = metrics.add(name=name)
        for i in range(4):
            gauge.gauge.data_points.add(time_unix_nano=end_ns - i * 10**6, as_double=1.7e308)
    return request


def _judged(server: LiveServer, hostile: bool) -> tuple[set[tuple[object, ...]], dict]:
    """Half an hour of dev-a (and of dev-b when ``hostile``), the rules run once: dev-a's
    results and every rule's state."""
    for minute in range(30, 0, -1):
        end_ns = int((NOW_S - minute * 60) * 1e9)
        batch = device_batch("dev-a", end_ns=end_ns, features=4, rng=np.random.default_rng(minute))
        _post(server, batch, server.tokens.device_a)
        if hostile:
            _post(server, _hostile(end_ns), server.tokens.device_b)
    server.store.roll_up()
    now = datetime.fromtimestamp(NOW_S, UTC)
    service: AlertingService = server.app.state.alerting  # type: ignore[attr-defined]
    service.scheduler.run_once(now)
    rows = server.store.evaluations.query(start=now - timedelta(days=2), end=now)
    dev_a = {
        (r.rule, r.feature, r.verdict, None if r.score is None else round(r.score, 9))
        for r in rows
        if r.device_id == "dev-a" and r.rule not in _RECEIVE_TIME_RULES
    }
    rules = httpx.get(f"{server.url}/api/v1/rules", headers=server.admin(), timeout=30)
    return dev_a, {r["name"]: r for r in rules.json()["rules"]}


def test_a_hostile_device_changes_no_other_devices_rule_results(tmp_path: Path) -> None:
    with serving(tmp_path / "alone") as alone:
        expected, _ = _judged(alone, hostile=False)
    with serving(tmp_path / "beside") as beside:
        got, rules = _judged(beside, hostile=True)
        dev_b = beside.store.evaluations.query(
            start=datetime.fromtimestamp(NOW_S - 60, UTC),
            end=datetime.fromtimestamp(NOW_S, UTC),
            device_id="dev-b",
        )

    assert {r for r in expected if r[0] == "ThroughputDrop"}, "the neighbour's counts are judged"
    assert got == expected
    assert all(r["last_evaluated_at"] is not None for r in rules.values())
    failed = {name: r["last_error"] for name, r in rules.items() if r["last_error"]}
    assert {"ThroughputDrop", "ErrorRateIncrease"} <= set(failed)
    assert all("device=dev-b" in error and "of 2 members" in error for error in failed.values())
    refused = [r for r in dev_b if "evaluation failed" in r.explanation]
    assert {r.rule for r in refused} == set(failed)
    assert {r.verdict for r in refused} == {"insufficient_data"}
