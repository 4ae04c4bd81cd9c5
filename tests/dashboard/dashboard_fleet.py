"""OTLP batches of a small, known fleet for the dashboard tests, in the collector's wire
format (built with ``opentelemetry.proto``; values are constant so the pages' numbers are
predictable)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import exp_metric, exp_point, gauge_metric, kv, sum_metric

from edgewatch.collector import semconv
from edgewatch.detectors import from_values

INTERVAL_S = 60
INFERENCES = 600
ERRORS = 6
CLASSES = {"cat": 300, "dog": 200, "bird": 100}
FEATURES = ("f00", "f01", "f02")
SIMULATED = "edgewatch.simulated"
"""The demo's mark on simulated readings (``edgewatch.demo.SIMULATED_ATTRIBUTE``)."""


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated device: what it runs and what it measures."""

    device_id: str
    model_version: str = "1.0.0"
    fleet: str = "fleet-a"
    latency_s: float = 0.020
    power_w: float | None = 4.0
    memory_bytes: float = 80 * 2**20
    temperature_c: float = 55.0
    f01_shift: float = 0.0
    """Feature f01 is Normal(1 + shift, 1): a shift makes it drift from the baselines."""
    classes: tuple[tuple[str, int], ...] = tuple(CLASSES.items())
    """Predictions per class in each export."""
    lost_batches: int = 0
    """Batches of ``INFERENCES`` the device says its spool dropped (a cumulative total)."""
    simulated: bool = False
    """Readings as the demo sends them: simulated power, process CPU instead of system CPU,
    and ``edgewatch.simulated=true`` on every reading and the resource."""


def _features(values: Sequence[np.ndarray], start: int, end: int) -> m.Metric:
    return exp_metric(
        semconv.FEATURE_VALUE,
        "1",
        [
            exp_point(from_values(v), start, end, [kv(semconv.FEATURE_NAME, name)])
            for name, v in zip(FEATURES, values, strict=True)
        ],
    )


def _exp(name: str, unit: str, values: np.ndarray, start: int, end: int) -> m.Metric:
    return exp_metric(name, unit, [exp_point(from_values(values), start, end)])


def _gauge(
    name: str, unit: str, value: float, start: int, end: int, attrs: Sequence[KeyValue] = ()
) -> m.Metric:
    return gauge_metric(name, unit, [(value, attrs)], start, end)


def batch(spec: DeviceSpec, end_ns: int) -> ExportMetricsServiceRequest:
    """One 60 s export interval of ``spec``."""
    start = end_ns - INTERVAL_S * 1_000_000_000
    marks = [kv(SIMULATED, "true")] if spec.simulated else []
    cpu = semconv.PROCESS_CPU_UTILIZATION if spec.simulated else semconv.SYSTEM_CPU_UTILIZATION
    source = semconv.POWER_SIMULATED if spec.simulated else semconv.POWER_BATTERY
    rng = np.random.default_rng([end_ns, *spec.device_id.encode()])
    metrics = [
        _exp(
            semconv.INFERENCE_DURATION,
            "s",
            rng.lognormal(np.log(spec.latency_s), 0.1, INFERENCES),
            start,
            end_ns,
        ),
        _exp(semconv.PREDICTION_SCORE, "1", rng.beta(8, 2, INFERENCES), start, end_ns),
        _features(
            [
                rng.normal(i + (spec.f01_shift if name == "f01" else 0.0), 1.0, INFERENCES)
                for i, name in enumerate(FEATURES)
            ],
            start,
            end_ns,
        ),
        sum_metric(
            semconv.INFERENCE_COUNT,
            [
                (INFERENCES - ERRORS, [kv(semconv.OUTCOME, semconv.OUTCOME_OK)]),
                (ERRORS, [kv(semconv.OUTCOME, semconv.OUTCOME_ERROR)]),
            ],
            start,
            end_ns,
        ),
        sum_metric(
            semconv.PREDICTION_CLASS_COUNT,
            [(n, [kv(semconv.PREDICTION_CLASS, c)]) for c, n in spec.classes],
            start,
            end_ns,
        ),
        _gauge(semconv.PROCESS_MEMORY_USAGE, "By", spec.memory_bytes, start, end_ns, marks),
        _gauge(cpu, "1", 0.25, start, end_ns, marks),
        _gauge(
            semconv.HW_TEMPERATURE,
            "Cel",
            spec.temperature_c,
            start,
            end_ns,
            [kv(semconv.HW_ID, "cpu"), *marks],
        ),
        _gauge(semconv.HW_BATTERY_CHARGE, "1", 0.8, start, end_ns),
    ]
    if spec.power_w is not None:
        metrics += [
            _gauge(
                semconv.HW_POWER,
                "W",
                spec.power_w,
                start,
                end_ns,
                [kv(semconv.POWER_SOURCE, source), *marks],
            ),
            _gauge(
                semconv.INFERENCE_ENERGY,
                "J",
                spec.power_w * INTERVAL_S / INFERENCES,
                start,
                end_ns,
            ),
        ]
    if spec.lost_batches:
        reason = [kv(semconv.REASON, "spool_full")]
        lost = spec.lost_batches
        metrics += [
            _gauge(semconv.DROPPED_TOTAL, "{inference}", lost * INFERENCES, start, end_ns, reason),
            _gauge(semconv.BATCHES_DROPPED_TOTAL, "{batch}", lost, start, end_ns, reason),
            _gauge(semconv.LAST_DROP, "s", start / 1e9, start, end_ns),
        ]
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        [
            kv(semconv.DEVICE_ID, spec.device_id),
            kv(semconv.FLEET, spec.fleet),
            kv(semconv.MODEL_NAME, "classifier"),
            kv(semconv.MODEL_VERSION, spec.model_version),
            kv(semconv.RUNTIME, "onnxruntime"),
            kv(semconv.HARDWARE, "raspberry-pi-5"),
            kv(semconv.HOST_ARCH, "arm64"),
            kv(semconv.OS_TYPE, "linux"),
            kv(
                semconv.POWER_SOURCES,
                source if spec.power_w is not None else semconv.POWER_NONE,
            ),
            *marks,
        ]
    )
    sm = rm.scope_metrics.add()
    sm.scope.name = "edgewatch.collector"
    sm.metrics.extend(metrics)
    return request


def baseline_csv(rows: int = 3000, seed: int = 11) -> bytes:
    """A reference dataset matching the unshifted devices: features and predicted class."""
    rng = np.random.default_rng(seed)
    columns = {name: rng.normal(i, 1.0, rows) for i, name in enumerate(FEATURES)}
    total = sum(CLASSES.values())
    predictions = rng.choice(list(CLASSES), rows, p=[n / total for n in CLASSES.values()])
    lines = [",".join([*FEATURES, "prediction"])]
    for i in range(rows):
        lines.append(",".join([*(f"{columns[f][i]:.5f}" for f in FEATURES), predictions[i]]))
    return ("\n".join(lines) + "\n").encode()
