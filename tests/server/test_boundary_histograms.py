"""Issue #12's boundary findings against a real server: histograms whose buckets lie far apart,
explicit histograms without buckets, exponential histograms without min/max, and names, ids
and times that are not usable. Each bad input is refused or bounded, and a neighbour device's
series keep working."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import (
    collector_body,
    collector_headers,
    device_batch,
    exp_metric,
    gauge_metric,
    kv,
)

from edgewatch.collector import semconv
from edgewatch.detectors import DEFAULT_MAX_BUCKETS, from_values
from edgewatch.server.ingest import MAX_HISTOGRAM_BUCKETS

pytestmark = pytest.mark.timeout(60)
FAR = 2_147_483_646
"""The largest offsets the issue sent: ±(2**31 - 2), one bucket each."""


def _far_point(scale: int, offset: int, end_ns: int) -> m.ExponentialHistogramDataPoint:
    """One delta point with a single positive bucket at ``offset`` and no min/max."""
    p = m.ExponentialHistogramDataPoint(
        start_time_unix_nano=end_ns - 60 * 10**9, time_unix_nano=end_ns, count=1, sum=1.0
    )
    p.scale = scale
    p.positive.offset = offset
    p.positive.bucket_counts.append(1)
    return p


def _request(device: str, metrics: list[m.Metric]) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.append(kv(semconv.DEVICE_ID, device))
    rm.resource.attributes.append(kv(semconv.MODEL_VERSION, "9.9.9"))
    rm.scope_metrics.add().metrics.extend(metrics)
    return req


def _post(server, req: ExportMetricsServiceRequest, token: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(req),
        headers=collector_headers(token),
        timeout=30,
    )


def _partial(r: httpx.Response) -> tuple[int, str]:
    partial = ExportMetricsServiceResponse.FromString(r.content).partial_success
    return partial.rejected_data_points, partial.error_message


def _get(server, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers=server.admin(), timeout=30)


def _window(now_s: float) -> dict[str, float]:
    return {"start": now_s - 3600, "end": now_s + 60}


def _neighbour(server, end_ns: int) -> None:
    """dev-a: three minutes of an ordinary collector batch."""
    for i in range(3):
        batch = device_batch(
            "dev-a",
            end_ns=end_ns - (3 - i) * 60 * 10**9,
            features=1,
            inferences=200,
            rng=np.random.default_rng(i),
        )
        assert _post(server, batch, server.tokens.device_a).status_code == 200


def _assert_neighbour_served(server, now_s: float) -> None:
    """dev-a's 1-minute rollups, distribution and p95 series answer with data."""
    rolled = _get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_COUNT,
        device_id="dev-a",
        step=60,
        **_window(now_s),
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["resolution"] == "1m"
    assert sum(v for _, v in rolled.json()["points"]) == 3 * 200
    p95 = _get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_DURATION,
        device_id="dev-a",
        step=60,
        agg="p95",
        **_window(now_s),
    )
    assert p95.status_code == 200, p95.text
    assert len(p95.json()["points"]) == 3
    assert all(v is not None and 0.0 < v < 1.0 for _, v in p95.json()["points"])
    dist = _get(
        server, "/api/v1/distributions", metric=semconv.INFERENCE_DURATION, device_id="dev-a"
    )
    assert dist.status_code == 200, dist.text
    assert dist.json()["count"] == 3 * 200


@pytest.mark.parametrize("scale", [-10, 0, 20])
def test_far_apart_buckets_on_the_wire_are_refused_or_bounded(live_server, scale: int) -> None:
    """Finding 1 over HTTP: two points of one series at offsets ±(2**31 - 2); the points are
    refused with a reason when their buckets lie beyond any float, and every query and rollup
    of every device keeps working."""
    now_s = time.time()
    end_ns = int(now_s * 1e9)
    _neighbour(live_server, end_ns)
    points = [_far_point(scale, FAR, end_ns), _far_point(scale, -FAR, end_ns - 10**9)]
    r = _post(
        live_server,
        _request("dev-b", [exp_metric(semconv.INFERENCE_DURATION, "s", points)]),
        live_server.tokens.device_b,
    )
    assert r.status_code == 200
    rejected, message = _partial(r)
    assert rejected == 2
    assert "invalid_histogram=2" in message
    assert "beyond the range of a float" in message
    live_server.store.roll_up()
    _assert_neighbour_served(live_server, now_s)
    summary = _get(live_server, "/api/v1/fleet/summary", **_window(now_s))
    assert summary.status_code == 200, summary.text


def test_wide_point_is_downscaled_at_ingest(live_server) -> None:
    """A point whose buckets span more than ``MAX_HISTOGRAM_BUCKETS`` is stored at the finest
    coarser scale that fits, with every count kept."""
    end_ns = time.time_ns()
    p = _far_point(20, 1000, end_ns)
    p.positive.bucket_counts.extend([1] * (MAX_HISTOGRAM_BUCKETS + 10))
    p.count = MAX_HISTOGRAM_BUCKETS + 11
    r = _post(
        live_server,
        _request("dev-b", [exp_metric("wide.hist", "1", [p])]),
        live_server.tokens.device_b,
    )
    assert r.status_code == 200
    assert _partial(r) == (0, "")
    row = live_server.store._db.read(
        lambda cur: cur.execute(
            "SELECT scale, pos_offset, len(pos_counts), list_sum(pos_counts), count"
            " FROM exp_histograms WHERE metric = 'wide.hist'"
        ).fetchone()
    )
    assert row == (19, 500, (MAX_HISTOGRAM_BUCKETS + 11 + 1) // 2, p.count, p.count)


def test_points_far_apart_within_float_range_merge_quickly(live_server) -> None:
    """At scale 20, offsets ±2**29 are real floats (2**±512) but 2**30 buckets apart: the
    distribution is merged at the coarser scale that fits, without a dense 2**30 grid."""
    now_s = time.time()
    end_ns = int(now_s * 1e9)
    points = [_far_point(20, 2**29, end_ns), _far_point(20, -(2**29), end_ns - 10**9)]
    r = _post(
        live_server,
        _request("dev-b", [exp_metric("far.hist", "1", points)]),
        live_server.tokens.device_b,
    )
    assert r.status_code == 200
    assert _partial(r) == (0, "")
    started = time.perf_counter()
    dist = _get(live_server, "/api/v1/distributions", metric="far.hist", device_id="dev-b")
    assert time.perf_counter() - started < 2.0
    assert dist.status_code == 200, dist.text
    body = dist.json()
    assert body["count"] == 2
    assert body["histogram"]["scale"] < 20
    assert len(body["histogram"]["positive"]["bucket_counts"]) <= DEFAULT_MAX_BUCKETS
    assert body["quantiles"]["p50"] is not None


def _poison_stored_rows(server, metric: str, scale: int, offset: int) -> None:
    """Rewrite dev-b's rows of ``metric`` into what an older server stored unchecked: one
    bucket each at ``scale``, offsets +offset and -offset (as positive buckets)."""
    server.store._db.write(
        lambda cur: cur.execute(
            "UPDATE exp_histograms SET scale = ?, zero_count = 0, neg_offset = 0,"
            " neg_counts = []::BIGINT[], count = 1, min = NULL, max = NULL, pos_counts = [1],"
            " pos_offset = CASE WHEN ts = (SELECT max(ts) FROM exp_histograms"
            " WHERE device_id = 'dev-b' AND metric = ?) THEN ? ELSE ? END"
            " WHERE device_id = 'dev-b' AND metric = ?",
            [scale, metric, offset, -offset, metric],
        )
    )


@pytest.mark.parametrize(("scale", "offset"), [(-10, FAR), (0, FAR), (0, 2**26)])
def test_far_apart_rows_already_stored_do_not_stop_rollups_or_queries(
    live_server, scale: int, offset: int
) -> None:
    """Finding 1 for rows stored before the fix: the rollup of every device completes, and
    distributions, p95 series and the fleet summary answer quickly, whatever the rows hold."""
    now_s = time.time()
    end_ns = int(now_s * 1e9)
    _neighbour(live_server, end_ns)
    minute_ns = (end_ns // (60 * 10**9) - 1) * 60 * 10**9  # one whole minute, rolled up
    good = [_far_point(0, 1, minute_ns + 10**9), _far_point(0, 2, minute_ns + 2 * 10**9)]
    r = _post(
        live_server,
        _request("dev-b", [exp_metric(semconv.INFERENCE_DURATION, "s", good)]),
        live_server.tokens.device_b,
    )
    assert r.status_code == 200
    _poison_stored_rows(live_server, semconv.INFERENCE_DURATION, scale, offset)
    live_server.store.roll_up()
    _assert_neighbour_served(live_server, now_s)
    started = time.perf_counter()
    for agg in ("p95", "p50"):
        series = _get(
            live_server,
            "/api/v1/series",
            metric=semconv.INFERENCE_DURATION,
            device_id="dev-b",
            step=60,
            agg=agg,
            **_window(now_s),
        )
        assert series.status_code == 200, series.text
    dist = _get(live_server, "/api/v1/distributions", metric=semconv.INFERENCE_DURATION)
    assert dist.status_code == 200, dist.text
    assert dist.json()["count"] == 3 * 200 + 2
    summary = _get(live_server, "/api/v1/fleet/summary", **_window(now_s))
    assert summary.status_code == 200, summary.text
    assert time.perf_counter() - started < 5.0


def test_explicit_histogram_without_buckets_is_kept_with_its_neighbours(live_server) -> None:
    """Finding 2: count and sum only (empty bounds and bucket counts) is valid OTLP."""
    end_ns = time.time_ns()
    hist = m.Metric(name="request.size", unit="By")
    hist.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    hist.histogram.data_points.add(
        start_time_unix_nano=end_ns - 60 * 10**9, time_unix_nano=end_ns, count=7, sum=70.0
    )
    neighbour = gauge_metric("hw.temperature", "Cel", [(50.0, [])], end_ns - 10**9, end_ns)
    with httpx.Client(timeout=10) as client:
        r = client.post(
            f"{live_server.url}/v1/metrics",
            content=collector_body(_request("dev-a", [hist, neighbour])),
            headers=collector_headers(live_server.tokens.device_a),
        )
        assert r.status_code == 200, r.text
        assert _partial(r) == (0, "")
        assert r.headers.get("connection") != "close"
        again = client.post(
            f"{live_server.url}/v1/metrics",
            content=collector_body(_request("dev-a", [neighbour])),
            headers=collector_headers(live_server.tokens.device_a),
        )
        assert again.status_code == 200
    counts = live_server.store.row_counts("dev-a")
    assert counts["histograms"] == 1
    assert counts["points"] == 2


def test_exponential_histogram_without_min_max_has_quantiles(live_server) -> None:
    """Finding 3: min and max are optional; quantiles come from the bucket bounds."""
    now_s = time.time()
    end_ns = int(now_s * 1e9)
    h = from_values(np.random.default_rng(1).lognormal(np.log(0.02), 0.3, 500))
    p = m.ExponentialHistogramDataPoint(
        start_time_unix_nano=end_ns - 60 * 10**9,
        time_unix_nano=end_ns,
        count=h.count,
        sum=h.sum,
        scale=h.scale,
        zero_count=h.zero_count,
    )
    p.positive.offset = h.positive_offset
    p.positive.bucket_counts.extend(int(c) for c in h.positive_counts)
    r = _post(
        live_server,
        _request("dev-a", [exp_metric(semconv.INFERENCE_DURATION, "s", [p])]),
        live_server.tokens.device_a,
    )
    assert r.status_code == 200
    dist = _get(live_server, "/api/v1/distributions", metric=semconv.INFERENCE_DURATION).json()
    assert dist["quantiles"]["p50"] == pytest.approx(0.02, rel=0.1)
    assert dist["quantiles"]["p99"] is not None
    live_server.store.roll_up()
    series = _get(
        live_server,
        "/api/v1/series",
        metric=semconv.INFERENCE_DURATION,
        step=60,
        agg="p95",
        **_window(now_s),
    ).json()
    assert [v for _, v in series["points"]] == [pytest.approx(0.02 * 1.64, rel=0.15)]


def test_unusable_names_ids_and_times_are_rejected_with_reasons(live_server) -> None:
    """Finding 8b: empty metric names, control characters in names and device ids, and a
    start time after the end time are refused per point (per resource for the device id)."""
    end_ns = time.time_ns()
    start_ns = end_ns - 10**9

    def gauge(name: str, start: int = start_ns) -> m.Metric:
        return gauge_metric(name, "1", [(1.0, [])], start, end_ns)

    req = _request(
        "dev-a",
        [
            gauge(""),
            gauge("bad\x00name"),
            gauge("bad\nname"),
            gauge("backwards", start=end_ns + 10**9),
            gauge("good.gauge"),
        ],
    )
    bad_device = req.resource_metrics.add()
    bad_device.resource.attributes.append(kv(semconv.DEVICE_ID, "dev\x00a"))
    bad_device.scope_metrics.add().metrics.append(gauge("other.gauge"))
    r = _post(live_server, req, live_server.tokens.admin)
    assert r.status_code == 200
    rejected, message = _partial(r)
    assert rejected == 5
    for reason in ("invalid_name=3", "invalid_timestamp=1", "invalid_device_id=1"):
        assert reason in message
    assert live_server.store.row_counts("dev-a")["points"] == 1
    metrics = _get(live_server, "/api/v1/devices/dev-a").json()
    assert metrics["device_id"] == "dev-a"


def test_a_series_that_cannot_be_rolled_up_is_left_out_and_logged(live_server, caplog) -> None:
    """Two valid points whose counts add up past 2**63 - 1 make DuckDB's merge fail: the
    rollup leaves that one series out (and says so) instead of failing every chunk, and
    queries over every device hold the sums at 2**63 - 1 instead of answering 503."""
    now_s = time.time()
    end_ns = int(now_s * 1e9)
    _neighbour(live_server, end_ns)
    minute_ns = (end_ns // (60 * 10**9) - 1) * 60 * 10**9  # a whole minute, never ahead of now
    huge = []
    for second in (1, 2):
        p = m.ExponentialHistogramDataPoint(
            start_time_unix_nano=minute_ns, time_unix_nano=minute_ns + second * 10**9
        )
        p.count = p.zero_count = 2**62 + 1
        huge.append(p)
    r = _post(
        live_server,
        _request("dev-b", [exp_metric(semconv.INFERENCE_DURATION, "s", huge)]),
        live_server.tokens.device_b,
    )
    assert r.status_code == 200
    assert _partial(r) == (0, "")
    with caplog.at_level("WARNING", logger="edgewatch.server.store._maintenance"):
        live_server.store.roll_up()
    assert "rollup 1m left out 1 series" in caplog.text
    assert "'dev-b', 'ml.inference.duration'" in caplog.text
    _assert_neighbour_served(live_server, now_s)
    summary = _get(live_server, "/api/v1/fleet/summary", **_window(now_s))
    assert summary.status_code == 200, summary.text
    dist = _get(live_server, "/api/v1/distributions", metric=semconv.INFERENCE_DURATION)
    assert dist.status_code == 200, dist.text
    assert dist.json()["count"] == 2**63 - 1
    counts = live_server.store.row_counts()
    assert counts["exp_histograms_1m"] == 3 * 3  # dev-a's minutes, not the failing series
