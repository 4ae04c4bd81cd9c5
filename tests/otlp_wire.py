"""Hand-built OTLP batches in exactly the collector's wire format (DESIGN.md, issue 4).

Used by the server and dashboard tests and by ``bench/ingest.py``; built with ``opentelemetry.proto`` so the
bytes are what the collector sends, without importing the collector.
"""

from __future__ import annotations

import gzip
import secrets
from collections.abc import Sequence

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from edgewatch.collector import semconv
from edgewatch.detectors import ExpHistogram, from_values

DELTA = m.AGGREGATION_TEMPORALITY_DELTA
CLASSES = ("cat", "dog", "bird")


def kv(key: str, value: str | int | float | bool) -> KeyValue:
    """One OTLP attribute."""
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def exp_point(
    h: ExpHistogram, start_ns: int, end_ns: int, attrs: Sequence[KeyValue] = ()
) -> m.ExponentialHistogramDataPoint:
    """An OTLP exponential-histogram point with exactly ``h``'s fields."""
    p = m.ExponentialHistogramDataPoint(
        start_time_unix_nano=start_ns,
        time_unix_nano=end_ns,
        attributes=list(attrs),
        count=h.count,
        sum=h.sum,
        scale=h.scale,
        zero_count=h.zero_count,
    )
    p.positive.offset = h.positive_offset
    p.positive.bucket_counts.extend(int(c) for c in h.positive_counts)
    p.negative.offset = h.negative_offset
    p.negative.bucket_counts.extend(int(c) for c in h.negative_counts)
    if h.count:
        p.min, p.max = h.min, h.max
    return p


def exp_metric(name: str, unit: str, points: Sequence[m.ExponentialHistogramDataPoint]) -> m.Metric:
    metric = m.Metric(name=name, unit=unit)
    metric.exponential_histogram.aggregation_temporality = DELTA
    metric.exponential_histogram.data_points.extend(points)
    return metric


def sum_metric(
    name: str, points: Sequence[tuple[int, Sequence[KeyValue]]], start_ns: int, end_ns: int
) -> m.Metric:
    metric = m.Metric(name=name, unit="1")
    metric.sum.aggregation_temporality = DELTA
    metric.sum.is_monotonic = True
    for value, attrs in points:
        metric.sum.data_points.add(
            start_time_unix_nano=start_ns,
            time_unix_nano=end_ns,
            as_int=value,
            attributes=list(attrs),
        )
    return metric


def gauge_metric(
    name: str,
    unit: str,
    points: Sequence[tuple[float, Sequence[KeyValue]]],
    start_ns: int,
    end_ns: int,
) -> m.Metric:
    metric = m.Metric(name=name, unit=unit)
    for value, attrs in points:
        metric.gauge.data_points.add(
            start_time_unix_nano=start_ns,
            time_unix_nano=end_ns,
            as_double=value,
            attributes=list(attrs),
        )
    return metric


def resource_attributes(
    device_id: str, *, fleet: str = "fleet-a", model_version: str = "1.0.0"
) -> list[KeyValue]:
    """The collector's resource attributes."""
    return [
        kv(semconv.DEVICE_ID, device_id),
        kv(semconv.FLEET, fleet),
        kv(semconv.MODEL_NAME, "classifier"),
        kv(semconv.MODEL_VERSION, model_version),
        kv(semconv.RUNTIME, "onnxruntime"),
        kv(semconv.HARDWARE, "raspberry-pi-5"),
        kv(semconv.HOST_ARCH, "arm64"),
        kv(semconv.OS_TYPE, "linux"),
        kv(semconv.SERVICE_NAME, "edgewatch-collector"),
        kv(semconv.POWER_SOURCES, "battery,estimate"),
        kv("site", "warehouse-3"),
    ]


def device_batch(
    device_id: str,
    *,
    end_ns: int,
    interval_s: float = 60.0,
    inferences: int = 600,
    errors: int = 3,
    features: int = 32,
    fleet: str = "fleet-a",
    model_version: str = "1.0.0",
    rng: np.random.Generator | None = None,
    latency_s: float = 0.02,
) -> ExportMetricsServiceRequest:
    """One export interval of one device, as the collector sends it."""
    rng = rng or np.random.default_rng(0)
    start_ns = end_ns - int(interval_s * 1e9)
    metrics: list[m.Metric] = []
    n = max(inferences, 1)
    if inferences:
        metrics.append(
            exp_metric(
                semconv.INFERENCE_DURATION,
                "s",
                [
                    exp_point(
                        from_values(rng.lognormal(np.log(latency_s), 0.3, n)), start_ns, end_ns
                    )
                ],
            )
        )
        metrics.append(
            exp_metric(
                semconv.PREDICTION_SCORE,
                "1",
                [exp_point(from_values(rng.beta(8, 2, n)), start_ns, end_ns)],
            )
        )
        metrics.append(
            exp_metric(
                semconv.FEATURE_VALUE,
                "1",
                [
                    exp_point(
                        from_values(rng.normal(i, 1.0 + i / 10, n)),
                        start_ns,
                        end_ns,
                        [kv(semconv.FEATURE_NAME, f"f{i:02d}")],
                    )
                    for i in range(features)
                ],
            )
        )
    per_class = np.bincount(rng.integers(0, len(CLASSES), inferences), minlength=len(CLASSES))
    metrics += [
        sum_metric(
            semconv.INFERENCE_COUNT,
            [
                (inferences - errors, [kv(semconv.OUTCOME, semconv.OUTCOME_OK)]),
                (errors, [kv(semconv.OUTCOME, semconv.OUTCOME_ERROR)]),
            ],
            start_ns,
            end_ns,
        ),
        sum_metric(
            semconv.PREDICTION_CLASS_COUNT,
            [
                (int(c), [kv(semconv.PREDICTION_CLASS, name)])
                for name, c in zip(CLASSES, per_class, strict=True)
            ],
            start_ns,
            end_ns,
        ),
        sum_metric(
            semconv.FEATURE_MISSING_COUNT,
            [(1, [kv(semconv.FEATURE_NAME, "f03")])],
            start_ns,
            end_ns,
        ),
        sum_metric(semconv.BATCHES, [(1, [kv(semconv.RESULT, "sent")])], start_ns, end_ns),
        gauge_metric(
            semconv.PROCESS_MEMORY_USAGE,
            "By",
            [(float(rng.normal(80e6, 1e6)), [])],
            start_ns,
            end_ns,
        ),
        gauge_metric(
            semconv.SYSTEM_CPU_UTILIZATION,
            "1",
            [(float(rng.uniform(0.1, 0.5)), [])],
            start_ns,
            end_ns,
        ),
        gauge_metric(
            semconv.HW_POWER,
            "W",
            [(float(rng.normal(4.0, 0.2)), [kv(semconv.POWER_SOURCE, semconv.POWER_BATTERY)])],
            start_ns,
            end_ns,
        ),
        gauge_metric(
            semconv.HW_TEMPERATURE,
            "Cel",
            [(float(rng.normal(55, 2)), [kv(semconv.HW_ID, "cpu")])],
            start_ns,
            end_ns,
        ),
        gauge_metric(semconv.HW_BATTERY_CHARGE, "1", [(0.8, [])], start_ns, end_ns),
        gauge_metric(semconv.INFERENCE_ENERGY, "J", [(0.05, [])], start_ns, end_ns),
        gauge_metric(semconv.SPOOL_DEPTH, "1", [(0.0, [])], start_ns, end_ns),
        gauge_metric(semconv.SPOOL_SIZE, "By", [(0.0, [])], start_ns, end_ns),
        gauge_metric(
            semconv.LAST_SUCCESS, "s", [(end_ns / 1e9 - interval_s, [])], start_ns, end_ns
        ),
    ]
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        resource_attributes(device_id, fleet=fleet, model_version=model_version)
    )
    sm = rm.scope_metrics.add()
    sm.scope.name = "edgewatch.collector"
    sm.metrics.extend(metrics)
    return request


def cumulative_batch(
    device: str, value: int, end_ns: int, start_ns: int
) -> ExportMetricsServiceRequest:
    """``device_batch`` (one feature) plus one monotonic cumulative sum point
    ``requests.total`` = ``value`` over ``[start_ns, end_ns]``, as OTel SDKs send by default."""
    request = device_batch(device, end_ns=end_ns, features=1)
    metric = (
        request.resource_metrics[0].scope_metrics[0].metrics.add(name="requests.total", unit="1")
    )
    metric.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_CUMULATIVE
    metric.sum.is_monotonic = True
    metric.sum.data_points.add(start_time_unix_nano=start_ns, time_unix_nano=end_ns, as_int=value)
    return request


def point_count(request: ExportMetricsServiceRequest) -> int:
    """Data points in a request."""
    total = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                total += len(getattr(metric, which).data_points)
    return total


def collector_headers(token: str | None, key: str | None = None) -> dict[str, str]:
    """The collector's request headers (gzip protobuf, bearer token, idempotency key)."""
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        semconv.IDEMPOTENCY_KEY_HEADER: key or secrets.token_hex(16),
        "User-Agent": "edgewatch-collector/0.1.0",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def collector_body(request: ExportMetricsServiceRequest) -> bytes:
    """The gzip-compressed protobuf body."""
    return gzip.compress(request.SerializeToString(), compresslevel=6)
