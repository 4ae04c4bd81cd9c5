"""The official OpenTelemetry Python SDK in its default settings (cumulative temporality,
explicit-bucket histograms) against a real server: the same events counted the same as the
edgewatch collector's deltas, across a client restart (a new MeterProvider, a new start time).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from server_harness import LiveServer

from edgewatch.collector import Monitor, semconv

pytestmark = pytest.mark.timeout(120)
OTEL_DEVICE = "otel-1"
COLLECTOR_DEVICE = "dev-a"
LIVES = ((40, 25, 60), (30, 45))
"""Inferences per export, per client life (the client restarts between lives)."""
QUEUE = "app.queue.depth"


def _events(n: int, rng: np.random.Generator) -> list[tuple[float, bool, float]]:
    """(latency s, error, score) of ``n`` inferences."""
    return [
        (float(lat), bool(err), float(score))
        for lat, err, score in zip(
            rng.lognormal(np.log(0.02), 0.4, n),
            rng.random(n) < 0.1,
            rng.uniform(0.05, 0.99, n),
            strict=True,
        )
    ]


def _otel_provider(url: str, token: str) -> tuple[MeterProvider, dict[str, object]]:
    """A fresh SDK client (default temporality and histogram aggregation, except the score
    histogram, which a View makes exponential)."""
    exporter = OTLPMetricExporter(
        endpoint=f"{url}/v1/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create(
            {
                semconv.DEVICE_ID: OTEL_DEVICE,
                semconv.MODEL_NAME: "classifier",
                semconv.MODEL_VERSION: "2.0.0",
            }
        ),
        views=[
            View(
                instrument_name=semconv.PREDICTION_SCORE,
                aggregation=ExponentialBucketHistogramAggregation(),
            )
        ],
    )
    meter = provider.get_meter("app")
    return provider, {
        "count": meter.create_counter(semconv.INFERENCE_COUNT),
        "latency": meter.create_histogram(semconv.INFERENCE_DURATION, unit="s"),
        "score": meter.create_histogram(semconv.PREDICTION_SCORE),
        "queue": meter.create_up_down_counter(QUEUE),
    }


def _get(client: httpx.Client, path: str, **params: object) -> dict[str, object]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_default_sdk_counts_equal_the_collectors_for_the_same_events(
    live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.store.create_token(role="device", device_id=OTEL_DEVICE).token
    monitor = Monitor(
        "classifier",
        "1.0.0",
        endpoint=live_server.url,
        token=live_server.tokens.device_a,
        device_id=COLLECTOR_DEVICE,
        interval_s=3600,
        spool_dir=tmp_path / "spool",
        samplers=[],
    )
    rng = np.random.default_rng(7)
    recorded: list[tuple[float, bool, float]] = []
    levels = []
    t0 = time.time() - 5
    for life in LIVES:
        provider, inst = _otel_provider(live_server.url, token)
        level = 0
        for n in life:
            events = _events(n, rng)
            for latency, error, score in events:
                outcome = semconv.OUTCOME_ERROR if error else semconv.OUTCOME_OK
                inst["count"].add(1, {semconv.OUTCOME: outcome})  # type: ignore[attr-defined]
                inst["latency"].record(latency)  # type: ignore[attr-defined]
                inst["score"].record(score)  # type: ignore[attr-defined]
                monitor.record(score=score, latency_s=latency, error=error)
            inst["queue"].add(n % 7 - 2)  # type: ignore[attr-defined]
            level += n % 7 - 2
            levels.append(level)
            recorded += events
            assert provider.force_flush(10_000)
            assert monitor.flush(10)
        provider.shutdown()  # exports the same totals once more: adds nothing
    monitor.close()
    total = len(recorded)
    errors = sum(e for _, e, _ in recorded)

    window = {"start": t0, "end": time.time() + 60}
    with httpx.Client(base_url=live_server.url, headers=live_server.admin()) as client:
        summary = _get(client, "/api/v1/fleet/summary", **window)
        by_version = {v["model_version"]: v for v in summary["versions"]}  # type: ignore[attr-defined]
        for version in ("1.0.0", "2.0.0"):
            assert by_version[version]["inferences"] == total
            assert by_version[version]["error_rate"] == pytest.approx(errors / total)
            assert by_version[version]["latency_s"]["p95"] > 0
        for device in (OTEL_DEVICE, COLLECTOR_DEVICE):
            step = window["end"] - window["start"]
            counts = _get(
                client, "/api/v1/series", metric=semconv.INFERENCE_COUNT, device_id=device,
                agg="sum", step=step, **window,
            )  # fmt: skip
            assert counts["kind"] == "delta"
            assert sum(v for _, v in counts["points"]) == total  # type: ignore[attr-defined]
            errs = _get(
                client, "/api/v1/series", metric=semconv.INFERENCE_COUNT, device_id=device,
                agg="sum", step=step, attr=f"{semconv.OUTCOME}={semconv.OUTCOME_ERROR}", **window,
            )  # fmt: skip
            assert sum(v for _, v in errs["points"]) == errors  # type: ignore[attr-defined]
            rate = _get(
                client, "/api/v1/series", metric=semconv.INFERENCE_COUNT, device_id=device,
                agg="rate", step=step, **window,
            )  # fmt: skip
            assert rate["points"][0][1] == pytest.approx(total / step)  # type: ignore[index]
            for metric in (semconv.INFERENCE_DURATION, semconv.PREDICTION_SCORE):
                dist = _get(
                    client, "/api/v1/distributions", metric=metric, device_id=device, **window
                )
                assert dist["count"] == total
                mean = np.mean(
                    [e[0 if metric == semconv.INFERENCE_DURATION else 2] for e in recorded]
                )
                assert dist["mean"] == pytest.approx(mean, rel=1e-9)
        otel_latency = _get(
            client, "/api/v1/distributions", metric=semconv.INFERENCE_DURATION,
            device_id=OTEL_DEVICE, **window,
        )  # fmt: skip
        assert otel_latency["explicit_histograms"]  # the SDK's default aggregation
        true_p95 = float(np.quantile([e[0] for e in recorded], 0.95))
        assert otel_latency["quantiles"]["p95"] == pytest.approx(true_p95, rel=0.5)  # type: ignore[index]
        p95 = _get(
            client, "/api/v1/series", metric=semconv.INFERENCE_DURATION, agg="p95",
            step=window["end"] - window["start"], **window,
        )  # fmt: skip
        assert p95["kind"] == "mixed_histogram" and len(p95["points"]) == 1  # type: ignore[arg-type]
        queue = _get(
            client,
            "/api/v1/series",
            metric=QUEUE,
            device_id=OTEL_DEVICE,
            agg="max",
            step=1,
            **window,
        )
        assert queue["kind"] == "gauge"  # an UpDownCounter is a level
        assert max(v for _, v in queue["points"]) == max(levels)  # type: ignore[attr-defined]
