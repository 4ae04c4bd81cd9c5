"""OTLP/HTTP ingest against a real uvicorn server: every answer of the spec, and what is stored."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2
from live_server import REQUEST_TIMEOUT_S
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import (
    collector_body,
    collector_headers,
    device_batch,
    exp_metric,
    exp_point,
    gauge_metric,
    kv,
    point_count,
    sum_metric,
)

from edgewatch.collector import semconv
from edgewatch.detectors import from_values

pytestmark = pytest.mark.timeout(60)


def post(server, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/metrics", content=body, headers=headers, timeout=10)


def status_message(r: httpx.Response) -> str:
    return status_pb2.Status.FromString(r.content).message


def test_collector_batch_is_stored_with_device_registry(live_server) -> None:
    batch = device_batch("dev-a", end_ns=time.time_ns(), features=32)
    r = post(live_server, collector_body(batch), collector_headers(live_server.tokens.device_a))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    response = ExportMetricsServiceResponse.FromString(r.content)
    assert response.partial_success.rejected_data_points == 0
    counts = live_server.store.row_counts("dev-a")
    assert counts["exp_histograms"] == 34  # duration, score, 32 features
    assert counts["points"] == point_count(batch) - 34

    device = httpx.get(
        f"{live_server.url}/api/v1/devices/dev-a", headers=live_server.admin()
    ).json()
    assert device["fleet"] == "fleet-a"
    assert device["model_name"] == "classifier"
    assert device["model_version"] == "1.0.0"
    assert device["hardware"] == "raspberry-pi-5"
    assert device["power_sources"] == ["battery", "estimate"]
    assert device["status"] == "online"
    assert device["attributes"]["site"] == "warehouse-3"
    assert -5 < device["clock_skew_s"] <= 1
    readings = {x["metric"]: x for x in device["readings"]}
    assert readings[semconv.HW_POWER]["attributes"] == {semconv.POWER_SOURCE: "battery"}
    assert readings[semconv.HW_BATTERY_CHARGE]["value"] == 0.8


def test_official_opentelemetry_exporter_is_accepted(live_server) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource

    exporter = OTLPMetricExporter(
        endpoint=f"{live_server.url}/v1/metrics",
        headers={"Authorization": f"Bearer {live_server.tokens.device_b}"},
        preferred_temporality={Histogram: AggregationTemporality.DELTA},
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader],
        # A plain OTel app: no device.id, so the server derives it from service.instance.id.
        resource=Resource.create({"service.name": "plain-app", "service.instance.id": "dev-b"}),
        views=[
            View(instrument_name="latency", aggregation=ExponentialBucketHistogramAggregation())
        ],
    )
    meter = provider.get_meter("test")
    latency = meter.create_histogram("latency", unit="s")
    payload = meter.create_histogram("payload", unit="By")
    requests = meter.create_counter("requests")
    queue = meter.create_up_down_counter("queue")
    for i in range(1, 101):
        latency.record(i / 1000)
        payload.record(i * 10)
        requests.add(1, {"route": "/predict"})
    queue.add(3)
    assert provider.force_flush(10_000)
    provider.shutdown()

    counts = live_server.store.row_counts("dev-b")
    assert counts["exp_histograms"] == 1
    assert counts["histograms"] == 1
    assert counts["points"] >= 2
    device = httpx.get(
        f"{live_server.url}/api/v1/devices/dev-b", headers=live_server.admin()
    ).json()
    assert device["service_name"] == "plain-app"
    dist = httpx.get(
        f"{live_server.url}/api/v1/distributions",
        params={"metric": "latency", "device_id": "dev-b"},
        headers=live_server.admin(),
    ).json()
    assert dist["count"] == 100
    assert dist["quantiles"]["p50"] == pytest.approx(0.05, rel=0.1)


def _json_request(device: str, now_ns: int) -> dict[str, object]:
    """OTLP JSON as JavaScript SDKs send it: hex ids, integer enums, 64-bit ints as strings or numbers."""
    return {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "device.id", "value": {"stringValue": device}}]
                },
                "scopeMetrics": [
                    {
                        "scope": {"name": "js"},
                        "metrics": [
                            {
                                "name": "requests",
                                "sum": {
                                    "aggregationTemporality": 1,
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {
                                            "startTimeUnixNano": str(now_ns - 60_000_000_000),
                                            "timeUnixNano": now_ns,
                                            "asInt": "42",
                                            "exemplars": [
                                                {
                                                    "timeUnixNano": str(now_ns),
                                                    "asInt": 1,
                                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                                    "spanId": "eee19b7ec3c1b174",
                                                }
                                            ],
                                        }
                                    ],
                                },
                            },
                            {
                                "name": "temperature",
                                "gauge": {
                                    "dataPoints": [
                                        {"timeUnixNano": str(now_ns), "asDouble": 21.5},
                                        {"timeUnixNano": str(now_ns), "asDouble": "NaN"},
                                    ]
                                },
                            },
                        ],
                    }
                ],
            }
        ]
    }


def test_json_body_with_partial_success(live_server) -> None:
    body = json.dumps(_json_request("dev-a", time.time_ns())).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {live_server.tokens.device_a}",
    }
    r = post(live_server, body, headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    partial = r.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1"
    assert "non_finite=1" in partial["errorMessage"]
    assert "temperature" in partial["errorMessage"]
    assert live_server.store.row_counts("dev-a")["points"] == 2  # the neighbours are stored


def test_a_bad_exemplar_in_a_relay_request_drops_only_that_points_exemplars(live_server) -> None:
    """Base64 (not hex) exemplar ids from one device of a relay request: every device's
    points are still stored, not a 400 for the whole request."""
    now_ns = time.time_ns()
    resources: Any = [
        *_json_request("dev-a", now_ns)["resourceMetrics"],
        *_json_request("dev-b", now_ns)["resourceMetrics"],
    ]
    point = resources[0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0]
    exemplar = point["exemplars"][0]
    exemplar["traceId"], exemplar["spanId"] = "W47/95gDgQPSabYzgT/GDA==", "7uGbfsPBsXQ="
    headers = {"Content-Type": "application/json", **live_server.admin()}
    r = post(live_server, json.dumps({"resourceMetrics": resources}).encode(), headers)
    assert r.status_code == 200, r.text
    assert r.json()["partialSuccess"]["rejectedDataPoints"] == "2"  # the two NaN gauges only
    assert live_server.store.row_counts("dev-a")["points"] == 2
    assert live_server.store.row_counts("dev-b")["points"] == 2


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("gzipped", [True, False])
def test_chunked_body_without_content_length(live_server, gzipped: bool) -> None:
    batch = device_batch("dev-a", end_ns=time.time_ns(), features=4)
    raw = batch.SerializeToString()
    body = gzip.compress(raw) if gzipped else raw
    headers = collector_headers(live_server.tokens.device_a)
    if not gzipped:
        del headers["Content-Encoding"]
    r = httpx.post(f"{live_server.url}/v1/metrics", content=_chunks(body), headers=headers)
    assert r.status_code == 200
    assert live_server.store.row_counts("dev-a")["exp_histograms"] == 6


def test_points_rejected_by_reason_while_neighbours_are_stored(live_server) -> None:
    now = time.time_ns()
    start = now - 60_000_000_000
    good = from_values([0.1, 0.2, 0.3])
    bad_counts = exp_point(good, start, now)
    bad_counts.count = 99  # inconsistent with the buckets
    req = device_batch("dev-a", end_ns=now, features=2, inferences=50)
    metrics = req.resource_metrics[0].scope_metrics[0].metrics
    metrics.extend(
        [
            gauge_metric("bad.nan", "1", [(float("nan"), []), (1.0, [kv("ok", True)])], start, now),
            gauge_metric("bad.inf", "1", [(float("inf"), [])], start, now),
            exp_metric("bad.hist", "s", [bad_counts, exp_point(good, start, now, [kv("ok", 1)])]),
            gauge_metric("future", "1", [(1.0, [])], start, now + 3_600_000_000_000),
            gauge_metric("ancient", "1", [(1.0, [])], start, now - 30 * 86_400_000_000_000),
        ]
    )
    negative = m.Metric(name="bad.counter")
    negative.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    negative.sum.is_monotonic = True
    negative.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=now, as_double=-2.0)
    metrics.append(negative)
    r = post(live_server, collector_body(req), collector_headers(live_server.tokens.device_a))
    assert r.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_data_points == 6
    for reason in (
        "non_finite=2",
        "invalid_histogram=1",
        "future_timestamp=1",
        "too_old=1",
        "negative_count=1",
    ):
        assert reason in partial.error_message
    assert "count 99 does not equal the sum of bucket counts 3" in partial.error_message
    counts = live_server.store.row_counts("dev-a")
    assert (
        counts["exp_histograms"] == 2 + 2 + 1
    )  # duration, score, 2 features, the good bad.hist neighbour
    assert counts["points"] == point_count(req) - 6 - 5
    scrape = httpx.get(f"{live_server.url}/metrics").text
    assert 'edgewatch_ingest_rejected_points_total{reason="non_finite"} 2.0' in scrape
    assert 'edgewatch_ingest_requests_total{outcome="partial"} 1.0' in scrape


def test_cardinality_cap_drops_excess_series(live_server) -> None:
    now = time.time_ns()
    req = device_batch("dev-a", end_ns=now, features=1, inferences=10)
    req.resource_metrics[0].scope_metrics[0].metrics.append(
        sum_metric("requests", [(1, [kv("user", f"u{i}")]) for i in range(60)], now - 10**9, now)
    )
    r = post(live_server, collector_body(req), collector_headers(live_server.tokens.device_a))
    partial = ExportMetricsServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_data_points == 10  # the cap is 50 series per metric in this fixture
    assert "cardinality=10" in partial.error_message


def test_duplicate_idempotency_key_is_stored_once(live_server) -> None:
    batch = device_batch("dev-a", end_ns=time.time_ns(), features=2)
    headers = collector_headers(live_server.tokens.device_a, key="ab" * 16)
    first = post(live_server, collector_body(batch), headers)
    second = post(live_server, collector_body(batch), headers)
    assert first.status_code == second.status_code == 200
    assert live_server.store.row_counts("dev-a")["exp_histograms"] == 4
    scrape = httpx.get(f"{live_server.url}/metrics").text
    assert 'edgewatch_ingest_requests_total{outcome="duplicate"} 1.0' in scrape


def test_device_token_cannot_write_another_device(live_server) -> None:
    batch = device_batch("dev-b", end_ns=time.time_ns(), features=1)
    r = post(live_server, collector_body(batch), collector_headers(live_server.tokens.device_a))
    assert r.status_code == 403
    assert status_message(r) == "token of device 'dev-a' cannot write device 'dev-b'"
    assert live_server.store.row_counts("dev-b")["points"] == 0
    assert (
        httpx.get(
            f"{live_server.url}/api/v1/devices/dev-b", headers=live_server.admin()
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, b"", 401, "missing bearer token"),
        (
            {"Authorization": "Bearer ewt_000000000000_wrongwrongwrongwrongwrong"},
            b"",
            401,
            "invalid or revoked token",
        ),
        ({"Authorization": "Basic abc"}, b"", 401, "Authorization header must be 'Bearer <token>'"),
        ({"Content-Type": "text/plain"}, b"x", 415, "unsupported Content-Type 'text/plain'"),
        ({"Content-Encoding": "br"}, b"x", 415, "unsupported Content-Encoding 'br'"),
        (
            {"Content-Encoding": "identity"},
            b"\xff\xff\xff",
            400,
            "body is not a protobuf ExportMetricsServiceRequest",
        ),
        ({}, b"not gzip", 400, "body is not valid gzip"),
        (
            {},
            gzip.compress(b"\x00" * 1_000_000, mtime=0),
            413,
            "decompressed body exceeds 262144 bytes",
        ),
        (
            {"Content-Encoding": "identity"},
            b"\x00" * 300_000,
            413,
            "body of 300000 bytes exceeds 262144 bytes",
        ),
        (
            {semconv.IDEMPOTENCY_KEY_HEADER: "x" * 200},
            gzip.compress(b"", mtime=0),
            400,
            "Idempotency-Key must be",
        ),
    ],
)
def test_bad_requests_get_their_status_and_message(
    live_server, headers: dict[str, str], body: bytes, status: int, message: str
) -> None:
    base = collector_headers(live_server.tokens.device_a)
    if status == 401:
        base.pop("Authorization")
    r = post(live_server, body, {**base, **headers})
    assert r.status_code == status
    assert (
        message in status_message(r)
        if r.headers["content-type"] == "application/x-protobuf"
        else message in r.json()["message"]
    )
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", [semconv.METRICS_PATH, semconv.LOGS_PATH])
@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_caller_without_a_token_gets_401_whatever_it_sends(
    live_server, path: str, content_type: str | None
) -> None:
    """Authentication comes before reading the request: no token is a 401 (as the document
    says), not a 415 telling an anonymous caller which media types the server reads."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = httpx.post(f"{live_server.url}{path}", content=b"x", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.json()["message"] == "missing bearer token"


def test_bad_json_is_400_with_reason(live_server) -> None:
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {live_server.tokens.device_a}",
    }
    r = post(live_server, b"{not json", headers)
    assert r.status_code == 400
    assert r.json()["message"].startswith("body is not valid JSON")
    r = post(live_server, json.dumps({"resourceMetrics": [{"scopeMetrics": 5}]}).encode(), headers)
    assert r.status_code == 400
    assert "not an OTLP ExportMetricsServiceRequest" in r.json()["message"]


def test_chunked_body_over_the_cap_is_413(live_server) -> None:
    headers = collector_headers(live_server.tokens.device_a)
    headers.pop("Content-Encoding")
    r = httpx.post(
        f"{live_server.url}/v1/metrics", content=_chunks(b"\x00" * 300_000, 4096), headers=headers
    )
    assert r.status_code == 413
    assert status_message(r) == "body exceeds 262144 bytes"


def test_saturated_writer_answers_503_with_retry_after(live_server) -> None:
    release = threading.Event()
    store = live_server.store
    # Stall the writer as a slow disk would; with the queue full, ingest must refuse at once.
    blocker = store._writer.call(lambda cur: release.wait(20))
    try:
        deadline = time.monotonic() + 10
        status = 200
        while status != 503 and time.monotonic() < deadline:
            batch = device_batch("dev-a", end_ns=time.time_ns(), features=0, inferences=0)
            with httpx.Client(timeout=0.5) as client:
                try:
                    r = client.post(
                        f"{live_server.url}/v1/metrics",
                        content=collector_body(batch),
                        headers=collector_headers(live_server.tokens.device_a),
                    )
                    status = r.status_code
                except httpx.ReadTimeout:
                    continue  # this one is queued behind the stalled writer
        assert status == 503
        assert r.headers["retry-after"] == "1"
        assert status_message(r) == "writer queue is full"
    finally:
        release.set()
        blocker.result(10)


def test_admin_api_refuses_device_tokens(live_server) -> None:
    url = f"{live_server.url}/api/v1/devices"
    assert httpx.get(url).status_code == 401
    r = httpx.get(url, headers={"Authorization": f"Bearer {live_server.tokens.device_a}"})
    assert r.status_code == 403
    assert "admin token" in r.json()["detail"]
    assert httpx.get(url, headers=live_server.admin()).status_code == 200


def test_health_readiness_and_openapi(live_server) -> None:
    assert httpx.get(f"{live_server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live_server.url}/readyz").json() == {
        "status": "ready",
        "rule_time_scale": 1.0,
    }
    paths = httpx.get(f"{live_server.url}/openapi.json", timeout=REQUEST_TIMEOUT_S).json()["paths"]
    for path in (
        "/v1/metrics",
        "/api/v1/devices",
        "/api/v1/devices/{device_id}",
        "/api/v1/series",
        "/api/v1/distributions",
        "/api/v1/fleet/summary",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/metrics",
    ):
        assert path in paths
