"""A histogram may leave out its sum, min and max (OTLP makes them optional; the OTel SDKs
omit the sum of a histogram that saw negative values): a series asking for one of them
answers 200 with null where the buckets hold only such points, not a 500, and its count and
the other devices' series are unchanged."""

from __future__ import annotations

import time

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import collector_body, collector_headers, kv

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
    [("explicit.size", ("sum", "min", "max", "avg")), ("exp.size", ("min", "max"))],
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
