"""Degradation detectors through the scheduler on stored data: a memory leak (trend), a
device slower than its peers (peer_outlier), a rising error share (page_hinkley over a
ratio signal) and a skewed device clock each raise an alert on the right device only."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from alerting_harness import alerting_server, device_rule
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import (
    exp_metric,
    exp_point,
    gauge_metric,
    kv,
    resource_attributes,
    sum_metric,
)

from edgewatch.collector import semconv
from edgewatch.detectors import from_values

DEVICES = [f"dev-{i}" for i in range(6)]


RULES = {
    "rules": [
        device_rule(
            "MemoryGrows", "trend", semconv.PROCESS_MEMORY_USAGE, ">= 1000000",
            min_slope_per_hour=1_000_000, alpha=0.01, direction="increasing",
        ),
        device_rule("SlowPeer", "peer_outlier", semconv.INFERENCE_DURATION, ">= 3.5", min_peers=4),
        device_rule(
            "Errors", "page_hinkley",
            f'{semconv.INFERENCE_COUNT}{{{semconv.OUTCOME}="{semconv.OUTCOME_ERROR}"}}'
            f"/{semconv.INFERENCE_COUNT}",
            "> 12", delta=0.5, threshold=12, warmup=10,
        ),
        device_rule("Skew", "clock_skew", "edgewatch.device.clock_offset", "> 120"),
    ]
}  # fmt: skip


def _export(
    device: str, end_s: float, minute: int, rng: np.random.Generator
) -> ExportMetricsServiceRequest:
    end_ns, start_ns = int(end_s * 1e9), int((end_s - 60) * 1e9)
    memory = 80e6 + (2e6 * minute / 60 * 60 if device == "dev-0" else 0.0)  # +2 MB/min on dev-0
    latency = 0.08 if device == "dev-1" else 0.02
    errors = 60 if device == "dev-2" and minute >= 20 else 3
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device))
    rm.scope_metrics.add().metrics.extend(
        [
            gauge_metric(semconv.PROCESS_MEMORY_USAGE, "By", [(memory + rng.normal(0, 1e5), [])], start_ns, end_ns),
            exp_metric(
                semconv.INFERENCE_DURATION, "s",
                [exp_point(from_values(rng.lognormal(np.log(latency), 0.1, 300)), start_ns, end_ns)],
            ),
            sum_metric(
                semconv.INFERENCE_COUNT,
                [(300 - errors, [kv(semconv.OUTCOME, semconv.OUTCOME_OK)]),
                 (errors, [kv(semconv.OUTCOME, semconv.OUTCOME_ERROR)])],
                start_ns, end_ns,
            ),
        ]
    )  # fmt: skip
    return request


def test_degradations_alert_on_the_right_device(tmp_path: Path) -> None:
    with alerting_server(tmp_path, RULES, scheduler_tick_s=3600.0, insecure_dev=True) as server:
        now = time.time()
        rng = np.random.default_rng(1)
        for minute in range(30):
            for device in DEVICES:
                # The newest export is stamped when it is sent, as a device's is: the clock
                # skew the server reads from it is then the device's own, not the time these
                # 180 sends took (over 60 s under load made every device look 2 minutes off).
                end_s = time.time() if minute == 29 else now - (30 - minute) * 60
                # dev-3's clock runs 10 minutes behind: its newest batch is stamped late.
                late = 600 if device == "dev-3" and minute == 29 else 0
                server.send(_export(device, end_s - late, minute, rng), device=None)
        server.evaluate(time.time())
        assert server.rule_errors() == [None] * 4
        fired = {(a["rule"], a["labels"]["device"]) for a in server.alerts()}
        assert fired == {
            ("MemoryGrows", "dev-0"),
            ("SlowPeer", "dev-1"),
            ("Errors", "dev-2"),
            ("Skew", "dev-3"),
        }
        leak = next(a for a in server.alerts() if a["rule"] == "MemoryGrows")
        assert leak["value"] == pytest.approx(120e6, rel=0.1)  # 2 MB/min = 120 MB/h


ROLLOUT_RULES = {
    "rules": [
        {
            "name": "BadRollout",
            "detector": "rollout",
            "scope": {"level": "version"},
            "signal": semconv.INFERENCE_DURATION,
            "window": "6h",
            "interval": "1m",
            "annotations": {"description": "{{ explanation }}"},
        }
    ]
}


def _version_export(
    device: str,
    version: str,
    latency: float,
    confidence: float,
    end_s: float,
    rng: np.random.Generator,
) -> ExportMetricsServiceRequest:
    end_ns, start_ns = int(end_s * 1e9), int((end_s - 60) * 1e9)
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device, model_version=version))
    rm.scope_metrics.add().metrics.extend(
        [
            exp_metric(
                semconv.INFERENCE_DURATION, "s",
                [exp_point(from_values(rng.lognormal(np.log(latency), 0.1, 300)), start_ns, end_ns)],
            ),
            exp_metric(
                semconv.PREDICTION_SCORE, "1",
                [exp_point(from_values(np.clip(rng.normal(confidence, 0.02, 300), 0, 1)), start_ns, end_ns)],
            ),
        ]
    )  # fmt: skip
    return request


def test_a_slower_new_version_is_a_bad_rollout_and_the_established_one_is_not(
    tmp_path: Path,
) -> None:
    """Six devices ran 1.0.0 for two hours, then two of them switched to 1.1.0: twice as slow
    but more confident. Only 1.1.0 fails the rollout gate, on its one hardware class, with
    the failed signal in the alert: 1.0.0's lower confidence is no regression of a rollout,
    since 1.0.0 is what 1.1.0 is rolled out against. The two hours the switched devices ran
    1.0.0 count for 1.0.0."""
    with alerting_server(
        tmp_path, ROLLOUT_RULES, scheduler_tick_s=3600.0, insecure_dev=True
    ) as server:
        now = time.time()
        rng = np.random.default_rng(2)
        for hour in (3, 2, 1, 0):
            end_s = now - hour * 3600 - 60
            for i, device in enumerate(DEVICES):
                canary = i >= 4 and hour < 2
                version, latency, confidence = (
                    ("1.1.0", 0.04, 0.9) if canary else ("1.0.0", 0.02, 0.7)
                )
                server.send(
                    _version_export(device, version, latency, confidence, end_s, rng), device=None
                )
        server.evaluate(now)
        fired = [a for a in server.alerts() if a["rule"] == "BadRollout"]
        assert [(a["labels"]["version"], a["labels"]["hardware"]) for a in fired] == [
            ("1.1.0", "raspberry-pi-5")
        ]
        description = fired[0]["annotations"]["description"]
        assert description.startswith("1.1.0 on raspberry-pi-5 failed against 1.0.0: latency 2.")
        assert "2 canary devices, 4 device-hours" in description
        # No labels and no calibrated baseline: the alert says why accuracy was not judged.
        assert "estimated_accuracy: no calibration for 1.1.0 and 1.0.0" in description
        verdict = server.get("/api/v1/rollouts/classifier/1.1.0")
        assert verdict["verdict"] == "fail" and verdict["failed"] == ["raspberry-pi-5/latency"]


def test_a_device_new_on_its_version_is_judged_against_the_hardware_profile(
    tmp_path: Path,
) -> None:
    """No production history of 2.0.0 yet: the p95 rule compares the device with the profile
    its version got on its hardware class before it shipped (10 ms), and a device twice as
    slow fires. A version without a profile has no baseline to judge against yet."""
    rules = {
        "rules": [
            device_rule(
                "LatencyP95", "quantile_regression", semconv.INFERENCE_DURATION, "> 0.25",
                q=0.95, min_relative=0.25,
            )
        ]
    }  # fmt: skip
    with alerting_server(tmp_path, rules, scheduler_tick_s=3600.0, insecure_dev=True) as server:
        edges = [0.008, 0.009, 0.010, 0.011, 0.012]
        report = {
            "latency": {"runs": 200, "mean_s": 0.0095, "p50_s": 0.0095, "p95_s": 0.0112,
                        "p99_s": 0.0118, "min_s": 0.007, "histogram": [[e, 40] for e in edges]},
            "energy": {"joules_per_inference": None, "source": None, "relative_error": None},
            "predictions": {"accuracy": None},
        }  # fmt: skip
        body = {"model": "classifier", "version": "2.0.0", "hardware_class": "raspberry-pi-5"}
        assert server.post("/api/v1/profiles", json={**body, "report": report}).status_code == 201
        bad = {
            **body,
            "report": {**report, "latency": {**report["latency"], "histogram": [[-1, 2]]}},
        }
        assert server.post("/api/v1/profiles", json=bad).status_code == 422
        now = time.time()
        rng = np.random.default_rng(3)
        for minute in range(10):
            end_s = now - (10 - minute) * 60
            for device, version in (("new-0", "2.0.0"), ("new-1", "3.0.0")):
                server.send(_version_export(device, version, 0.02, 0.9, end_s, rng), device=None)
        server.evaluate(now)
        fired = [a for a in server.alerts() if a["rule"] == "LatencyP95"]
        assert [a["labels"]["device"] for a in fired] == ["new-0"]
        evidence = server.get(f"/api/v1/alerts/{fired[0]['fingerprint']}")["evidence"]
        baseline = evidence["baseline"]
        assert (baseline["profile"], baseline["source"]) == ("2.0.0@raspberry-pi-5", "profile")
