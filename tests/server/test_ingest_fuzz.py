"""OTLP fuzzing of ``/v1/metrics`` against a real server (issue #12): random scales inside and
outside the spec's range, offsets up to ±2**31, counts up to 2**64 - 1, missing fields, NaN
sums, explicit histograms without buckets, unusable names, ids and times. No request may
answer 5xx, no rollup may fail, and a valid neighbour device's rollups, distributions and
p95 series keep working afterwards."""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import collector_body, collector_headers, kv
from test_boundary_histograms import _assert_neighbour_served, _get, _neighbour, _window

from edgewatch.collector import semconv

pytestmark = pytest.mark.timeout(120)
NOW_NS = time.time_ns()
MINUTE_NS = NOW_NS // (60 * 10**9) * 60 * 10**9
"""Every fuzzed point lands in one rollup minute, so the rollup merges them."""

_UINT64 = st.integers(0, 2**64 - 1)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_IN_MINUTE = st.integers(MINUTE_NS, MINUTE_NS + 59 * 10**9)
_TIMES = st.one_of(_IN_MINUTE, _IN_MINUTE, st.just(0), st.integers(0, 2**64 - 1))
_OFFSETS = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-2000, 2000))
_STARTS = st.one_of(st.just(0), st.just(MINUTE_NS), _TIMES)
_NAMES = st.sampled_from(["fuzz.metric"] * 5 + ["", "bad\x00name", "tab\tname"])
_FINITE = st.floats(-1e300, 1e300)


@st.composite
def _buckets(draw: st.DrawFn, side: m.ExponentialHistogramDataPoint.Buckets) -> int:
    """Fill one side; returns its bucket total."""
    side.offset = draw(_OFFSETS)
    wide = draw(st.booleans()) and draw(st.booleans())
    counts = (
        [1] * draw(st.integers(4097, 6000))
        if wide
        else draw(st.lists(st.integers(0, 2**40), max_size=6))
    )
    side.bucket_counts.extend(counts)
    return sum(counts)


@st.composite
def _exp_point(draw: st.DrawFn) -> m.ExponentialHistogramDataPoint:
    p = m.ExponentialHistogramDataPoint(
        start_time_unix_nano=draw(_STARTS), time_unix_nano=draw(_TIMES)
    )
    p.scale = draw(
        st.one_of(st.integers(-20, 30), st.integers(-10, 20), st.sampled_from([-10, 20]))
    )
    p.zero_count = draw(st.integers(0, 2**62))
    total = p.zero_count + draw(_buckets(p.positive)) + draw(_buckets(p.negative))
    p.count = total if draw(st.integers(0, 4)) or total >= 2**64 else draw(_UINT64)
    p.sum = draw(st.one_of(_FINITE, _FLOATS))
    if draw(st.booleans()):
        p.min, p.max = sorted([draw(_FINITE), draw(_FINITE)])
        if draw(st.booleans()):
            p.min, p.max = draw(_FLOATS), draw(_FLOATS)
    return p


@st.composite
def _explicit_point(draw: st.DrawFn) -> m.HistogramDataPoint:
    p = m.HistogramDataPoint(start_time_unix_nano=draw(_STARTS), time_unix_nano=draw(_TIMES))
    bounds = draw(st.lists(_FLOATS, max_size=4))
    p.explicit_bounds.extend(bounds)
    if draw(st.booleans()):
        p.bucket_counts.extend(
            draw(st.lists(_UINT64, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
        )
    p.count = draw(_UINT64)
    if draw(st.booleans()):
        p.sum = draw(_FLOATS)
    return p


@st.composite
def _metric(draw: st.DrawFn) -> m.Metric:
    kind = draw(st.sampled_from(["exp", "explicit", "gauge", "sum", "summary", "none"]))
    metric = m.Metric(name=draw(_NAMES))
    delta = draw(st.sampled_from([0, 1, 2]))
    n = draw(st.integers(0, 3))
    if kind == "exp":
        metric.name = draw(st.sampled_from([semconv.INFERENCE_DURATION, metric.name]))
        metric.exponential_histogram.aggregation_temporality = delta
        metric.exponential_histogram.data_points.extend([draw(_exp_point()) for _ in range(n)])
    elif kind == "explicit":
        metric.name = f"{metric.name}.explicit"
        metric.histogram.aggregation_temporality = delta
        metric.histogram.data_points.extend([draw(_explicit_point()) for _ in range(n)])
    elif kind in ("gauge", "sum"):
        metric.name = f"{metric.name}.{kind}"
        data = metric.gauge if kind == "gauge" else metric.sum
        if kind == "sum":
            metric.sum.aggregation_temporality = delta
            metric.sum.is_monotonic = draw(st.booleans())
        for _ in range(n):
            p = data.data_points.add(
                start_time_unix_nano=draw(_STARTS), time_unix_nano=draw(_TIMES)
            )
            if draw(st.booleans()):
                p.as_double = draw(_FLOATS)
            else:
                p.as_int = draw(st.integers(-(2**63), 2**63 - 1))
    elif kind == "summary":
        metric.name = f"{metric.name}.summary"
        for _ in range(n):
            p = metric.summary.data_points.add(
                time_unix_nano=draw(_TIMES), count=draw(_UINT64), sum=draw(_FLOATS)
            )
            p.quantile_values.add(quantile=0.5, value=draw(_FLOATS))
    return metric


@st.composite
def _requests(draw: st.DrawFn) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        rm = req.resource_metrics.add()
        device = draw(st.sampled_from(["dev-b"] * 6 + ["dev\x00b", "", " "]))
        rm.resource.attributes.append(kv(semconv.DEVICE_ID, device))
        rm.resource.attributes.append(kv(semconv.MODEL_VERSION, "9.9.9"))
        rm.scope_metrics.add().metrics.extend(draw(st.lists(_metric(), max_size=4)))
    return req


def _known_hard() -> ExportMetricsServiceRequest:
    """The issue's inputs, always tried first: far-apart buckets within the floats' range,
    a point wider than the bucket limit, and an explicit histogram without buckets."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.append(kv(semconv.DEVICE_ID, "dev-b"))
    exp = rm.scope_metrics.add().metrics.add(name=semconv.INFERENCE_DURATION)
    exp.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    for offset, size in ((2**29, 1), (-(2**29), 1), (0, 5000)):
        p = exp.exponential_histogram.data_points.add(
            time_unix_nano=MINUTE_NS + 10**9, scale=20, count=size, sum=1.0
        )
        p.positive.offset = offset
        p.positive.bucket_counts.extend([1] * size)
    explicit = rm.scope_metrics[0].metrics.add(name="fuzz.metric.explicit")
    explicit.histogram.data_points.add(time_unix_nano=MINUTE_NS + 10**9, count=3, sum=1.0)
    return req


def test_fuzzed_otlp_never_answers_5xx_and_neighbours_keep_working(live_server) -> None:
    now_s = NOW_NS / 1e9
    _neighbour(live_server, MINUTE_NS)

    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(req=_requests())
    @example(req=_known_hard())
    def post_one(req: ExportMetricsServiceRequest) -> None:
        r = httpx.post(
            f"{live_server.url}/v1/metrics",
            content=collector_body(req),
            headers=collector_headers(live_server.tokens.device_b),
            timeout=30,
        )
        assert r.status_code < 500, r.text
        live_server.store.roll_up()
        for path, params in (
            ("/api/v1/distributions", {"metric": semconv.INFERENCE_DURATION}),
            (
                "/api/v1/series",
                {"metric": semconv.INFERENCE_DURATION, "agg": "p95", "step": 60, **_window(now_s)},
            ),
        ):
            answer = _get(live_server, path, **params)
            assert answer.status_code < 500, answer.text

    post_one()
    assert live_server.store.row_counts("dev-b")["exp_histograms"] >= 3
    _assert_neighbour_served(live_server, now_s)
    summary = _get(live_server, "/api/v1/fleet/summary", **_window(now_s))
    assert summary.status_code == 200, summary.text
