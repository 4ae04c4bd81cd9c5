"""A histogram may leave out its sum, min and max (OTLP makes them optional; the OTel SDKs
omit the sum of a histogram that saw negative values): a series asking for one of them
answers 200 with null where the buckets hold such points, not a 500 and not a 0 or a partial
sum, and its count and the other devices' series are unchanged."""

from __future__ import annotations

import math
import time

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import collector_body, collector_headers, kv

from edgewatch.contract import from_unix_s
from edgewatch.server.store import Resolution

pytestmark = pytest.mark.timeout(60)


def _send(server, device: str, token: str, with_stats: bool, end_ns: int) -> None:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.append(kv("device.id", device))
    for name in ("explicit.size", "exp.size"):
        metric = rm.scope_metrics.add().metrics.add(name=name)
        data = metric.histogram if name == "explicit.size" else metric.exponential_histogram
        data.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
        p = data.data_points.add(start_time_unix_nano=end_ns - 10**9, time_unix_nano=end_ns)
        p.count = 4
        if name == "explicit.size":
            p.explicit_bounds.append(1.0)
            p.bucket_counts.extend([1, 3])
        else:
            p.positive.bucket_counts.extend([1, 3])
        if with_stats:
            p.sum, p.min, p.max = 6.0, 0.5, 2.0
    r = httpx.post(
        f"{server.url}/v1/metrics",
        content=collector_body(request),
        headers=collector_headers(token),
        timeout=10,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("metric", "unknown"),
    [("explicit.size", ("sum", "min", "max", "avg")), ("exp.size", ("sum", "min", "max", "avg"))],
)
def test_sum_min_max_of_histograms_without_them_are_null(
    live_server, metric: str, unknown: tuple[str, ...]
) -> None:
    end_ns = time.time_ns()
    _send(live_server, "dev-a", live_server.tokens.device_a, True, end_ns)
    _send(live_server, "dev-b", live_server.tokens.device_b, False, end_ns)
    live_server.store.roll_up()
    now_s = end_ns / 1e9

    def values(device: str, agg: str) -> list[float | None]:
        r = httpx.get(
            f"{live_server.url}/api/v1/series",
            params={"metric": metric, "device_id": device, "agg": agg, "step": 60,
                    "start": now_s - 600, "end": now_s + 60},
            headers=live_server.admin(),
            timeout=10,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        return [v for _, v in r.json()["points"]]

    for agg in unknown:
        assert values("dev-b", agg) == [None]
    assert values("dev-b", "count") == [4.0]
    assert [values("dev-a", agg) for agg in ("sum", "min", "max", "count")] == [
        [6.0], [0.5], [2.0], [4.0]
    ]  # fmt: skip


@pytest.mark.parametrize("metric", ["explicit.size", "exp.size"])
def test_a_bucket_mixing_known_and_unknown_sums_answers_null_not_the_known_part(
    live_server, metric: str
) -> None:
    end_ns = time.time_ns()
    _send(live_server, "dev-a", live_server.tokens.device_a, True, end_ns)
    _send(live_server, "dev-b", live_server.tokens.device_b, False, end_ns)
    live_server.store.roll_up()
    now_s = end_ns / 1e9

    def fleet(agg: str, step: int) -> list[float | None]:
        r = httpx.get(
            f"{live_server.url}/api/v1/series",
            params={"metric": metric, "agg": agg, "step": step,
                    "start": now_s - 600, "end": now_s + 60},
            headers=live_server.admin(),
            timeout=10,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        return [v for _, v in r.json()["points"]]

    for step in (30, 60):  # raw rows, then the 1-minute rollups
        assert (fleet("sum", step), fleet("avg", step), fleet("count", step)) == (
            [None], [None], [8.0]
        )  # fmt: skip
    if metric == "exp.size":  # rollup rows pre-merged across devices keep the sum unknown
        window = {"start": from_unix_s(now_s - 600), "end": from_unix_s(now_s + 60)}
        for premerged in (True, False):
            h = live_server.store.merged_histogram(
                metric, resolution=Resolution.MINUTE, premerged=premerged, **window
            )
            assert h.count == 8
            assert math.isnan(h.sum)
