"""The official OpenTelemetry JavaScript SDK in its default settings against a real server.

``tests/clients/otel-js/report.js`` is a Node.js program configured only by the standard
environment variables (endpoint, bearer-token header, resource attributes, service name), with
the SDK's defaults: cumulative temporality, explicit-bucket histograms with the default bounds,
the default resource. It records a known plan of inferences, a queue level and a memory gauge,
lets the periodic reader export the same running totals several times per round, flushes, and
shuts down. Everything is then read back through the REST API as a user would: the device under
the id its resource gives, the exact counts, histograms equal bucket for bucket to the recorded
values, their quantiles, the last gauge values, and nothing rejected. Both encodings.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from otel_js_client import run_report
from server_harness import LiveServer
from test_otel_env_interop import doc_environment

from edgewatch.collector import semconv
from edgewatch.contract import (
    ApiClient,
    DeviceDetail,
    DistributionOut,
    FleetSummaryOut,
    SeriesOut,
)
from edgewatch.server.ingest import device_id_of

pytestmark = pytest.mark.timeout(120)
QUEUE = "app.queue.depth"
JS_DEFAULT_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
"""The JavaScript SDK's default explicit bucket bounds (the OTel spec's default)."""
ROUNDS = (40, 25, 60, 35)
"""Inferences per round; the periodic reader exports between the rounds' flushes."""


def _env(resource: str, **settings: str) -> Callable[[str, str], dict[str, str]]:
    """The ``OTEL_*`` variables of a client given the server's URL and a device token:
    endpoint, bearer token, ``resource`` (OTEL_RESOURCE_ATTRIBUTES), a service name, and
    ``settings``."""

    def env(url: str, token: str) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": url,
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{token}",
            "OTEL_RESOURCE_ATTRIBUTES": resource,
            "OTEL_SERVICE_NAME": "digits-app",
            **settings,
        }

    return env


CLIENTS: dict[str, tuple[str, str, int, Callable[[str, str], dict[str, str]]]] = {
    # protocol, device (of the token), process lives, OTEL_* variables
    # protobuf; the device named by device.id in OTEL_RESOURCE_ATTRIBUTES; one process
    "proto": (
        "proto",
        "js-proto-1",
        1,
        _env("device.id=js-proto-1,ml.model.name=digits,ml.model.version=js-proto"),
    ),
    # JSON; no device.id: the resource's only ids are the SDK's random service.instance.id
    # (a new one when the process restarts) and the host name, so the data belong to the
    # device the token names (device_id_of); the rounds are split over two processes
    "json": ("json", "js-json-1", 2, _env("ml.model.name=digits,ml.model.version=js-json")),
    # protobuf, gzip-compressed (the one setting changed)
    "proto-gzip": (
        "proto",
        "js-gzip-1",
        1,
        _env(
            "device.id=js-gzip-1,ml.model.name=digits,ml.model.version=js-gzip",
            OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
        ),
    ),
    # exactly the variables docs/opentelemetry.md lists (signal-specific endpoint and header,
    # delta temporality; the JavaScript SDK ignores the histogram-aggregation one)
    "docs": ("proto", "gateway-17", 1, doc_environment),
}


def _plan(seed: int) -> dict[str, Any]:
    """Rounds of (latency s, outcome, score) plus a queue change and a memory reading each.

    The first round's scores span a narrow range, later ones a wide one, so the SDK lowers the
    exponential histogram's scale between exports; one inference stalls for 6.2 s, so the
    latencies fill two of the default buckets; two scores are exactly 0 (the zero bucket)."""
    rng = np.random.default_rng(seed)
    rounds = []
    for i, n in enumerate(ROUNDS):
        latency = rng.lognormal(np.log(0.02), 0.4, n)
        if i == 2:
            latency[7] = 6.2
        low, high = (0.60, 0.62) if i == 0 else (0.05, 0.99)
        scores = rng.uniform(low, high, n)
        if i in (1, 3):
            scores[3] = 0.0
        events = [
            [float(s), semconv.OUTCOME_ERROR if err else semconv.OUTCOME_OK, float(score)]
            for s, err, score in zip(latency, rng.random(n) < 0.1, scores, strict=True)
        ]
        rounds.append(
            {
                "events": events,
                "queue": [3, -1, 4, -2][i],
                "memory_bytes": 150_000_000 + i * 1_250_000,
            }
        )
    return {
        "names": {
            "count": semconv.INFERENCE_COUNT,
            "outcome": semconv.OUTCOME,
            "latency": semconv.INFERENCE_DURATION,
            "score": semconv.PREDICTION_SCORE,
            "queue": QUEUE,
            "memory": semconv.PROCESS_MEMORY_USAGE,
        },
        "rounds": rounds,
        "export_interval_ms": 300,  # also the export timeout: room for a loaded machine
        "round_pause_ms": 700,
    }


def _explicit_quantile(values: np.ndarray, bounds: list[float], q: float) -> float:
    """Prometheus' ``histogram_quantile`` over the exact bucket counts of ``values``, the
    open ends closed by the values' min and max: the piecewise-linear CDF through the bucket
    bounds inside [min, max]."""
    lo, hi = float(values.min()), float(values.max())
    knots = np.array([lo, *[b for b in bounds if lo < b < hi], hi])
    cdf = np.array([np.count_nonzero(values <= k) for k in knots], dtype=float)
    cdf[0] = 0.0  # the CDF rises from min: no mass sits on a single point
    rank = q * len(values)
    k = int(np.searchsorted(cdf, rank, side="left"))
    return float(
        knots[k - 1] + (knots[k] - knots[k - 1]) * (rank - cdf[k - 1]) / (cdf[k] - cdf[k - 1])
    )


def _exp_counts(values: np.ndarray, scale: int) -> dict[int, int]:
    """Bucket index → count of positive ``values`` at ``scale`` (bucket i holds (b^i, b^(i+1)])."""
    index = np.ceil(np.log2(values) * 2.0**scale).astype(int) - 1
    found, counts = np.unique(index, return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_default_js_sdk_is_counted_exactly(
    live_server: LiveServer, otel_js: Path, tmp_path: Path, client: str
) -> None:
    protocol, device, lives, environment = CLIENTS[client]
    token = live_server.store.create_token(role="device", device_id=device).token
    env = environment(live_server.url, token)
    resource = dict(kv.split("=", 1) for kv in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    plan = _plan(seed=len(client))
    per_life = len(ROUNDS) // lives
    t0 = time.time() - 5
    reports = [
        run_report(
            otel_js,
            protocol,
            {**plan, "rounds": plan["rounds"][life * per_life : (life + 1) * per_life]},
            env,
            tmp_path,
        )
        for life in range(lives)
    ]
    for report in reports:
        assert report.exports_failed == [], report.stderr[-2000:]
        assert "partial" not in report.stderr.lower(), report.stderr[-2000:]
        if "device.id" in resource:
            assert device_id_of(report.resource) == device
        else:
            assert "device.id" not in report.resource
            assert uuid.UUID(report.resource["service.instance.id"]).version == 4
    instances = {r.resource["service.instance.id"] for r in reports}
    assert len(instances) == lives  # a new random id at every start, one device all along
    exports = sum(r.exports_ok for r in reports)
    # a flush per round, each shutdown's, and the periodic reader's in between
    assert exports > len(ROUNDS) + lives

    events = [e for r in plan["rounds"] for e in r["events"]]
    latency = np.array([e[0] for e in events])
    scores = np.array([e[2] for e in events])
    errors = sum(e[1] == semconv.OUTCOME_ERROR for e in events)
    # the queue level of each process starts at 0
    queue_changes = np.reshape([r["queue"] for r in plan["rounds"]], (lives, per_life))
    levels = np.cumsum(queue_changes, axis=1)
    end = time.time() + 60
    window = {"from": t0, "to": end, "device": device}

    with ApiClient(live_server.url, live_server.tokens.admin) as api:
        detail = api.get(DeviceDetail, f"/api/v1/devices/{device}")
        assert (detail.model_name, detail.model_version) == (
            resource["ml.model.name"],
            resource["ml.model.version"],
        )
        assert detail.service_name == report.resource["service.name"]

        def total(**params: Any) -> float:
            series = api.get(
                SeriesOut,
                "/api/v1/series",
                {
                    "metric": semconv.INFERENCE_COUNT,
                    "agg": "sum",
                    "step": end - t0,
                    **window,
                    **params,
                },
            )
            assert series.kind == "delta"
            return sum(series.values)

        assert total() == len(events)
        assert total(attr=f"{semconv.OUTCOME}={semconv.OUTCOME_ERROR}") == errors
        summary = api.get(FleetSummaryOut, "/api/v1/fleet/summary", {"from": t0, "to": end})
        (version,) = [
            v for v in summary.versions if v.model_version == resource["ml.model.version"]
        ]
        assert version.inferences == len(events)
        assert version.error_rate == pytest.approx(errors / len(events))

        duration = api.get(
            DistributionOut,
            "/api/v1/distributions",
            {"metric": semconv.INFERENCE_DURATION, **window},
        )
        assert duration.count == len(events)
        assert duration.mean == pytest.approx(latency.mean(), rel=1e-9)
        (explicit,) = duration.explicit_histograms
        assert explicit.explicit_bounds == JS_DEFAULT_BOUNDS
        recorded = np.bincount(
            np.searchsorted(JS_DEFAULT_BOUNDS, latency, side="left"),
            minlength=len(JS_DEFAULT_BOUNDS) + 1,
        )
        assert explicit.bucket_counts == recorded.tolist()
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            oracle = _explicit_quantile(latency, JS_DEFAULT_BOUNDS, q)
            assert duration.quantiles[name] == pytest.approx(oracle, rel=1e-6), name

        score = api.get(
            DistributionOut, "/api/v1/distributions", {"metric": semconv.PREDICTION_SCORE, **window}
        )
        assert score.count == len(events) and not score.explicit_histograms
        assert score.mean == pytest.approx(scores.mean(), rel=1e-9)
        h = score.histogram
        assert (h.min, h.max) == (scores.min(), scores.max())
        stored = {h.positive.offset + i: c for i, c in enumerate(h.positive.bucket_counts) if c}
        assert stored == _exp_counts(scores[scores > 0], h.scale)
        assert h.zero_count == np.count_nonzero(scores == 0) == 2
        width = 2.0 ** (2.0**-h.scale) - 1  # relative width of one bucket
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            true = float(np.quantile(scores, q))
            assert score.quantiles[name] == pytest.approx(true, rel=width), name

        readings = {r.metric: r.value for r in detail.readings}
        assert readings[semconv.PROCESS_MEMORY_USAGE] == plan["rounds"][-1]["memory_bytes"]
        assert readings[QUEUE] == levels[-1, -1]
        queue = api.get(
            SeriesOut, "/api/v1/series", {"metric": QUEUE, "agg": "max", "step": end - t0, **window}
        )
        assert queue.kind == "gauge"  # an UpDownCounter is a level
        assert max(queue.values) == levels.max()  # buckets align to the clock: one or two

    scrape = httpx.get(f"{live_server.url}/metrics").text
    assert "edgewatch_ingest_rejected_points_total{" not in scrape, scrape
    assert 'edgewatch_ingest_points_total{outcome="rejected"}' not in scrape
    # every export the SDK made was answered as a full success
    assert float(_sample(scrape, 'edgewatch_ingest_requests_total{outcome="ok"}')) == exports


def _sample(scrape: str, name: str) -> str:
    """The value of one sample line of a Prometheus text scrape."""
    (line,) = [x for x in scrape.splitlines() if x.startswith(name + " ")]
    return line.split()[-1]
