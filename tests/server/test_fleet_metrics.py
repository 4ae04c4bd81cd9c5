"""The per-device series on ``/metrics`` agree with what the REST API says was stored:
cumulative senders counted by their deltas, a resent batch once, every device listed with
its model version and when it last reported; the counting itself against a plain sum."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import httpx
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import (
    collector_body,
    collector_headers,
    device_batch,
    kv,
    resource_attributes,
    sum_metric,
)
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from server_harness import LiveServer

from edgewatch.collector import semconv
from edgewatch.server.fleet_metrics import MAX_LABEL_SETS_PER_DEVICE, OVERFLOW, DeviceInferences
from edgewatch.server.store import Batch, DeviceUpdate
from edgewatch.server.store._batch import ExpHistogramRows, HistogramRows, NumericRows


def _samples(server: LiveServer, family: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of ``family`` on ``/metrics``, by their label sets."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = {}
    for metric in text_string_to_metric_families(text):
        if metric.name == family:
            found = {frozenset(s.labels.items()): s.value for s in metric.samples}
    return found


def _cumulative(device: str, start_ns: int, end_ns: int, ok: int) -> ExportMetricsServiceRequest:
    """An OTel SDK's default export: the inference count since ``start_ns``, cumulative."""
    metric = sum_metric(
        semconv.INFERENCE_COUNT, [(ok, [kv(semconv.OUTCOME, "ok")])], start_ns, end_ns
    )
    metric.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_CUMULATIVE
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device, model_version="2.0.0"))
    rm.scope_metrics.add().metrics.append(metric)
    return request


def _post(server: LiveServer, token: str, request: ExportMetricsServiceRequest, key: str) -> None:
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(request),
        headers=collector_headers(token, key),
        timeout=30,
    )
    assert r.status_code == 200, r.text


def _stored(server: LiveServer, device: str, now_s: float) -> float:
    """Inferences of ``device`` as the REST API sums them."""
    r = httpx.get(
        f"{server.url}/api/v1/series",
        params={
            "metric": semconv.INFERENCE_COUNT,
            "agg": "sum",
            "step": 1,
            "device_id": device,
            "start": now_s - 3600,
            "end": now_s + 60,
        },
        headers=server.admin(),
        timeout=10,
    )
    r.raise_for_status()
    return float(sum(v for _, v in r.json()["points"]))


def test_device_inferences_match_what_the_api_stored(live_server: LiveServer) -> None:
    now_ns = time.time_ns()
    start = now_ns - 600 * 10**9
    token = live_server.tokens.device_a
    for i, total in enumerate((7, 19, 30)):
        _post(
            live_server,
            token,
            _cumulative("dev-a", start, now_ns - (3 - i) * 10**10, total),
            f"c{i}",
        )
    _post(live_server, token, _cumulative("dev-a", start, now_ns - 10**10, 30), "c2")  # resent
    _post(live_server, live_server.tokens.device_b, device_batch("dev-b", end_ns=now_ns), "d0")

    counted = _samples(live_server, "edgewatch_device_inferences")
    a = {("device_id", "dev-a"), ("model_name", "classifier"), ("model_version", "2.0.0")}
    assert (
        counted[frozenset(a | {("outcome", "ok")})]
        == 30
        == _stored(live_server, "dev-a", now_ns / 1e9)
    )
    b = {("device_id", "dev-b"), ("model_name", "classifier"), ("model_version", "1.0.0")}
    assert counted[frozenset(b | {("outcome", "ok")})] == 597
    assert counted[frozenset(b | {("outcome", "error")})] == 3
    assert _stored(live_server, "dev-b", now_ns / 1e9) == 600


def test_every_device_has_its_last_seen_time(live_server: LiveServer) -> None:
    before = time.time()
    now_ns = time.time_ns()
    _post(live_server, live_server.tokens.device_a, device_batch("dev-a", end_ns=now_ns), "a0")
    _post(
        live_server,
        live_server.tokens.device_b,
        device_batch("dev-b", end_ns=now_ns, fleet="fleet-b", model_version="1.1.0"),
        "b0",
    )
    seen = _samples(live_server, "edgewatch_device_last_seen_timestamp_seconds")
    labels = sorted(sorted(k) for k in seen)
    assert labels == [
        [("device_id", d), ("fleet", f), ("model_name", "classifier"), ("model_version", v)]
        for d, f, v in (("dev-a", "fleet-a", "1.0.0"), ("dev-b", "fleet-b", "1.1.0"))
    ]
    assert all(before - 1 <= t <= time.time() + 1 for t in seen.values())


_ROW = st.tuples(
    st.sampled_from(["dev-a", "dev-b", "dev-c"]),
    st.sampled_from([semconv.INFERENCE_COUNT, semconv.PREDICTION_CLASS_COUNT]),
    st.sampled_from(['{"ml.inference.outcome":"ok"}', '{"ml.inference.outcome":"error"}', "{}"]),
    st.integers(0, 1000),
)


def _batch(rows: list[tuple[str, str, str, int]], version: str) -> Batch:
    numeric = NumericRows()
    for device, metric, attrs, value in rows:
        numeric.device_id.append(device)
        numeric.metric.append(metric)
        numeric.attrs.append(attrs)
        numeric.kind.append("delta")
        numeric.start_us.append(0)
        numeric.ts_us.append(1)
        numeric.value.append(float(value))
    devices = tuple(
        DeviceUpdate(d, None, "m", version, None, None, None, None, None, None, "{}", None)
        for d in sorted({r[0] for r in rows})
    )
    return Batch(1, devices, (), (), numeric, ExpHistogramRows(), HistogramRows())


@given(st.lists(st.tuples(st.lists(_ROW, max_size=8), st.sampled_from(["1", "2"])), max_size=6))
def test_counting_sums_inference_points_by_device_version_and_outcome(
    groups: list[tuple[list[tuple[str, str, str, int]], str]],
) -> None:
    registry = CollectorRegistry()
    counter = DeviceInferences(registry)
    expected: dict[tuple[str, str, str], float] = defaultdict(float)
    for rows, version in groups:
        counter.count([_batch(rows, version)])
        for device, metric, attrs, value in rows:
            if metric == semconv.INFERENCE_COUNT:
                outcome = json.loads(attrs).get(semconv.OUTCOME, "")
                expected[(device, version, outcome)] += value
    got = {
        (s.labels["device_id"], s.labels["model_version"], s.labels["outcome"]): s.value
        for metric in registry.collect()
        for s in metric.samples
        if s.name == "edgewatch_device_inferences_total"
    }
    assert got == {k: v for k, v in expected.items() if v > 0}


def test_a_device_cycling_versions_folds_into_overflow_and_keeps_its_total() -> None:
    registry = CollectorRegistry()
    counter = DeviceInferences(registry)
    counter.count([_batch([("dev-b", semconv.INFERENCE_COUNT, "{}", 5)], "1")])
    for version in range(3 * MAX_LABEL_SETS_PER_DEVICE):
        rows = [("dev-a", semconv.INFERENCE_COUNT, '{"ml.inference.outcome":"ok"}', 2)]
        counter.count([_batch(rows, str(version))])
    counter.count([_batch([("dev-b", semconv.INFERENCE_COUNT, "{}", 5)], "1")])
    samples = [
        s
        for metric in registry.collect()
        for s in metric.samples
        if s.name == "edgewatch_device_inferences_total"
    ]
    a = [s for s in samples if s.labels["device_id"] == "dev-a"]
    assert len(a) == MAX_LABEL_SETS_PER_DEVICE + 1
    assert sum(s.value for s in a) == 2 * 3 * MAX_LABEL_SETS_PER_DEVICE
    overflow = [s for s in a if s.labels["model_version"] == OVERFLOW]
    assert overflow[0].value == 2 * 2 * MAX_LABEL_SETS_PER_DEVICE
    b = [(s.labels["model_version"], s.value) for s in samples if s.labels["device_id"] == "dev-b"]
    assert b == [("1", 10.0)]
