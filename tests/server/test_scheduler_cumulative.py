"""The degradation rules on data shaped as the OTel SDKs send it by default: cumulative
counters and cumulative explicit-bucket latency histograms. A slower device (peer_outlier), a
rising error share (page_hinkley over a ratio) and a latency regression against the preceding
window (quantile_regression) alert on the right device only, as they do for delta data."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from alerting_harness import alerting_server, device_rule
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import kv, resource_attributes

from edgewatch.collector import semconv

pytestmark = pytest.mark.timeout(120)
DEVICES = [f"dev-{i}" for i in range(6)]
BOUNDS = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0]
CUMULATIVE = m.AGGREGATION_TEMPORALITY_CUMULATIVE


RULES = {
    "rules": [
        device_rule("SlowPeer", "peer_outlier", semconv.INFERENCE_DURATION, ">= 3.5", min_peers=4),
        device_rule(
            "Errors", "page_hinkley",
            f'{semconv.INFERENCE_COUNT}{{{semconv.OUTCOME}="{semconv.OUTCOME_ERROR}"}}'
            f"/{semconv.INFERENCE_COUNT}",
            "> 12", delta=0.5, threshold=12, warmup=10,
        ),
        {
            **device_rule(
                "Slower", "quantile_regression", semconv.INFERENCE_DURATION, "> 0.25",
                q=0.95, min_relative=0.25, reference_window_s=1800,
            ),
            "window": "10m",
        },
    ]
}  # fmt: skip


class _Device:
    """One SDK client's running totals (one MeterProvider: one start time)."""

    def __init__(self, name: str, start_s: float) -> None:
        self.name = name
        self.start_ns = int(start_s * 1e9)
        self.ok = 0
        self.errors = 0
        self.buckets = np.zeros(len(BOUNDS) + 1, dtype=np.int64)
        self.total_s = 0.0

    def record(self, latencies: np.ndarray, errors: int) -> None:
        self.ok += latencies.size - errors
        self.errors += errors
        self.buckets += np.bincount(
            np.searchsorted(BOUNDS, latencies, side="left"), minlength=len(BOUNDS) + 1
        )
        self.total_s += float(latencies.sum())

    def export(self, end_s: float) -> ExportMetricsServiceRequest:
        end_ns = int(end_s * 1e9)
        count = m.Metric(name=semconv.INFERENCE_COUNT, unit="1")
        count.sum.aggregation_temporality = CUMULATIVE
        count.sum.is_monotonic = True
        for outcome, value in ((semconv.OUTCOME_OK, self.ok), (semconv.OUTCOME_ERROR, self.errors)):
            count.sum.data_points.add(
                start_time_unix_nano=self.start_ns,
                time_unix_nano=end_ns,
                as_int=value,
                attributes=[kv(semconv.OUTCOME, outcome)],
            )
        latency = m.Metric(name=semconv.INFERENCE_DURATION, unit="s")
        latency.histogram.aggregation_temporality = CUMULATIVE
        latency.histogram.data_points.add(
            start_time_unix_nano=self.start_ns,
            time_unix_nano=end_ns,
            count=int(self.buckets.sum()),
            sum=self.total_s,
            explicit_bounds=BOUNDS,
            bucket_counts=self.buckets.tolist(),
        )
        request = ExportMetricsServiceRequest()
        rm = request.resource_metrics.add()
        rm.resource.attributes.extend(resource_attributes(self.name))
        rm.scope_metrics.add().metrics.extend([count, latency])
        return request


def _latency(device: str, minute: int) -> float:
    if device == "dev-1":
        return 0.08  # slower than its peers all along
    if device == "dev-4" and minute >= 20:
        return 0.045  # slower than it was in the preceding half hour
    return 0.02


def test_degradations_on_cumulative_explicit_data_alert_on_the_right_device(
    tmp_path: Path,
) -> None:
    with alerting_server(tmp_path, RULES, scheduler_tick_s=3600.0, insecure_dev=True) as server:
        now = time.time()
        rng = np.random.default_rng(3)
        clients: Sequence[_Device] = [_Device(d, now - 61 * 60) for d in DEVICES]
        for minute in range(60):
            end_s = now - (60 - minute) * 60
            for client in clients:
                errors = 60 if client.name == "dev-2" and minute >= 50 else 3
                latencies = rng.lognormal(np.log(_latency(client.name, minute - 30)), 0.1, 300)
                client.record(latencies, errors)
                server.send(client.export(end_s), device=None)
        server.evaluate(now)
        assert server.rule_errors() == [None] * 3
        fired = {(a["rule"], a["labels"]["device"]) for a in server.alerts()}
        # dev-4's last ten minutes also make it slower than its peers over the 30 m window.
        assert fired == {
            ("SlowPeer", "dev-1"),
            ("Errors", "dev-2"),
            ("Slower", "dev-4"),
            ("SlowPeer", "dev-4"),
        }
