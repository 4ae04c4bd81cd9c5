"""Kinds per series (issue #12, finding 4) and cumulative state in the store (issue #13): what
one device sends never changes another's answers; resends and a SIGKILL count nothing twice."""

from __future__ import annotations

import gzip
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import collector_body, collector_headers, device_batch, kv, resource_attributes
from server_harness import LiveServer, ServerProcess, make_tokens

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.detectors import quantile
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Selection, Store, StoreConfig
from edgewatch.server.store._series_kinds import HISTOGRAM_KINDS, answer_for

pytestmark = pytest.mark.timeout(90)
CUMULATIVE = m.AGGREGATION_TEMPORALITY_CUMULATIVE


def _request(device: str, metrics: Sequence[m.Metric]) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device, model_version="9.9.9"))
    rm.scope_metrics.add().metrics.extend(metrics)
    return request


def _explicit_latency(start_ns: int, end_ns: int, counts: Sequence[int]) -> m.Metric:
    """``ml.inference.duration`` as the OTel SDKs send it by default: cumulative, explicit."""
    metric = m.Metric(name=semconv.INFERENCE_DURATION, unit="s")
    metric.histogram.aggregation_temporality = CUMULATIVE
    metric.histogram.data_points.add(
        start_time_unix_nano=start_ns,
        time_unix_nano=end_ns,
        count=sum(counts),
        sum=0.01 * sum(counts),
        explicit_bounds=[0.005, 0.01, 0.05],
        bucket_counts=list(counts),
    )
    return metric


def _cumulative_count(start_ns: int, end_ns: int, value: int) -> m.Metric:
    metric = m.Metric(name=semconv.INFERENCE_COUNT, unit="1")
    metric.sum.aggregation_temporality = CUMULATIVE
    metric.sum.is_monotonic = True
    metric.sum.data_points.add(
        start_time_unix_nano=start_ns,
        time_unix_nano=end_ns,
        as_int=value,
        attributes=[kv(semconv.OUTCOME, semconv.OUTCOME_OK)],
    )
    return metric


def _post(url: str, token: str, request: ExportMetricsServiceRequest, key: str | None) -> None:
    headers = collector_headers(token, key)
    if key is None:
        del headers[semconv.IDEMPOTENCY_KEY_HEADER]
    r = httpx.post(f"{url}/v1/metrics", content=collector_body(request), headers=headers)
    assert r.status_code == 200, r.text
    assert (
        ExportMetricsServiceResponse.FromString(r.content).partial_success.rejected_data_points == 0
    )


def _get(server: LiveServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers=server.admin())


def test_a_plain_client_first_does_not_fix_the_kind_for_everyone(live_server: LiveServer) -> None:
    now_ns = time.time_ns()
    token = live_server.store.create_token(role="device", device_id="otel-1").token
    first = _request(
        "otel-1", [_explicit_latency(now_ns - 60 * 10**9, now_ns - 10**9, [1, 6, 3, 0])]
    )
    _post(live_server.url, token, first, None)
    gauge = m.Metric(name=semconv.INFERENCE_DURATION, unit="s")
    gauge.gauge.data_points.add(time_unix_nano=now_ns - 10**9, as_double=0.02)
    _post(live_server.url, live_server.tokens.device_b, _request("dev-b", [gauge]), None)
    _post(
        live_server.url,
        live_server.tokens.device_a,
        device_batch("dev-a", end_ns=now_ns - 10**9, features=1, inferences=200),
        "k1",
    )
    live_server.store.roll_up()
    window = {"start": now_ns / 1e9 - 3600, "end": now_ns / 1e9 + 60}

    mine = _get(live_server, "/api/v1/distributions", device_id="dev-a", **window)
    assert mine.status_code == 200, mine.text
    assert mine.json()["count"] == 200 and mine.json()["explicit_histograms"] == []
    p95 = _get(
        live_server, "/api/v1/series", metric=semconv.INFERENCE_DURATION, device_id="dev-a",
        agg="p95", step=3600, **window,
    )  # fmt: skip
    assert p95.status_code == 200 and p95.json()["kind"] == "exp_histogram"
    assert len(p95.json()["points"]) == 1
    # What the latency rules read: every histogram kind, without an error, per device or fleet.
    for device, count in (("dev-a", 200), ("otel-1", 10), ("dev-b", 0), (None, 210)):
        view = live_server.store.merged_histogram(
            semconv.INFERENCE_DURATION,
            start=from_unix_s(window["start"]),
            end=from_unix_s(window["end"]),
            selection=Selection(device_id=device),
        )
        assert view.count == count
    explicit_view = live_server.store.merged_histogram(
        semconv.INFERENCE_DURATION,
        start=from_unix_s(window["start"]),
        end=from_unix_s(window["end"]),
        selection=Selection(device_id="otel-1"),
    )
    assert 0.005 < quantile(explicit_view, 0.5) < 0.01

    theirs = _get(live_server, "/api/v1/distributions", device_id="otel-1", **window).json()
    assert theirs["count"] == 10 and theirs["histogram"]["count"] == 0
    assert theirs["explicit_histograms"] == [
        {"explicit_bounds": [0.005, 0.01, 0.05], "bucket_counts": [1, 6, 3, 0]}
    ]
    # Prometheus' rule: rank 5 of 10 falls in (0.005, 0.01] holding ranks 2..7.
    assert theirs["quantiles"]["p50"] == pytest.approx(0.005 + 0.005 * (5 - 1) / 6)

    gauge_dist = _get(live_server, "/api/v1/distributions", device_id="dev-b", **window)
    assert gauge_dist.status_code == 400
    assert (
        "gauge" in gauge_dist.json()["detail"] and "no distribution" in gauge_dist.json()["detail"]
    )
    gauge_p95 = _get(
        live_server, "/api/v1/series", metric=semconv.INFERENCE_DURATION, device_id="dev-b",
        agg="p95", step=60, **window,
    )  # fmt: skip
    assert gauge_p95.status_code == 400 and "no quantiles" in gauge_p95.json()["detail"]
    fleet = _get(
        live_server, "/api/v1/series", metric=semconv.INFERENCE_DURATION, agg="p95", step=60,
        **window,
    )  # fmt: skip
    # Over several devices the histograms answer; the gauge device is named, not an error.
    assert fleet.status_code == 200, fleet.text
    assert fleet.json()["kind"] == "mixed_histogram"
    assert fleet.json()["left_out_devices"] == ["dev-b"]


def test_resent_cumulative_batches_count_once(live_server: LiveServer) -> None:
    now_ns = time.time_ns()
    start = now_ns - 600 * 10**9
    token = live_server.store.create_token(role="device", device_id="otel-1").token
    for i, value in enumerate((5, 10, 15)):
        request = _request("otel-1", [_cumulative_count(start, start + (i + 1) * 10**10, value)])
        for key in (f"k{i}", f"k{i}", None, None):  # same key twice, then no key twice
            _post(live_server.url, token, request, key)
    counts = _get(
        live_server, "/api/v1/series", metric=semconv.INFERENCE_COUNT, device_id="otel-1",
        agg="sum", step=1, start=now_ns / 1e9 - 3600, end=now_ns / 1e9 + 60,
    ).json()  # fmt: skip
    assert sum(v for _, v in counts["points"]) == 15
    summary = _get(
        live_server, "/api/v1/fleet/summary", start=now_ns / 1e9 - 3600, end=now_ns / 1e9 + 60
    ).json()
    (version,) = [v for v in summary["versions"] if v["model_version"] == "9.9.9"]
    assert version["inferences"] == 15


def test_cumulative_state_survives_sigkill(server_process: ServerProcess) -> None:
    tokens = make_tokens(server_process.db)
    server_process.start()
    now_ns = time.time_ns()
    start = now_ns - 600 * 10**9

    def export(at_ns: int, value: int, buckets: list[int]) -> bytes:
        request = _request(
            "dev-a",
            [_cumulative_count(start, at_ns, value), _explicit_latency(start, at_ns, buckets)],
        )
        return gzip.compress(request.SerializeToString())

    headers = collector_headers(tokens.device_a)
    body = export(now_ns - 20 * 10**9, 7, [1, 2, 3, 1])
    assert httpx.post(f"{server_process.url}/v1/metrics", content=body, headers=headers).is_success
    server_process.kill()  # SIGKILL: only what was committed is left
    server_process.start()
    body = export(now_ns - 10 * 10**9, 19, [2, 5, 8, 4])
    assert httpx.post(
        f"{server_process.url}/v1/metrics", content=body, headers=collector_headers(tokens.device_a)
    ).is_success
    window = {"start": now_ns / 1e9 - 3600, "end": now_ns / 1e9 + 60, "device_id": "dev-a"}
    auth = {"Authorization": f"Bearer {tokens.admin}"}
    counts = httpx.get(
        f"{server_process.url}/api/v1/series",
        params={"metric": semconv.INFERENCE_COUNT, "agg": "sum", "step": 1, **window},
        headers=auth,
    ).json()
    assert sum(v for _, v in counts["points"]) == 19
    dist = httpx.get(
        f"{server_process.url}/api/v1/distributions",
        params={"metric": semconv.INFERENCE_DURATION, **window},
        headers=auth,
    ).json()
    assert dist["count"] == 19
    assert np.array(dist["explicit_histograms"][0]["bucket_counts"]).tolist() == [2, 5, 8, 4]


def test_the_writer_records_new_kinds_and_new_series_of_known_kinds(tmp_path: Path) -> None:
    now_ns = time.time_ns()
    limiter = CardinalityLimiter(max_series_per_metric=50, max_series_per_device=500)

    def store_batch(store: Store, request: ExportMetricsServiceRequest) -> None:
        batch = convert(request, received_s=now_ns / 1e9, limits=IngestLimits(), limiter=limiter)
        store.submit(batch.batch).result(10)

    def kinds(store: Store) -> set[tuple[str, str, str]]:
        rows = store._db.read(
            lambda cur: cur.execute(
                "SELECT attrs, kind, temporality FROM series_kinds WHERE metric = ?",
                [semconv.INFERENCE_COUNT],
            ).fetchall()
        )
        return {(r[0], r[1], r[2]) for r in rows}

    ok = '{"ml.inference.outcome":"ok"}'
    db = tmp_path / "k.duckdb"
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        store_batch(store, device_batch("dev-a", end_ns=now_ns - 3 * 10**9, features=1))
        store_batch(store, device_batch("dev-a", end_ns=now_ns - 2 * 10**9, features=1))
        error = '{"ml.inference.outcome":"error"}'
        assert kinds(store) == {(ok, "delta", "delta"), (error, "delta", "delta")}
        store_batch(
            store, _request("dev-a", [_cumulative_count(now_ns - 10**11, now_ns - 10**9, 4)])
        )
        assert (ok, "delta", "cumulative") in kinds(store)  # a new kind for a known series
        new_attrs = _cumulative_count(now_ns - 10**11, now_ns - 10**9, 1)
        new_attrs.sum.data_points[0].attributes[0].value.string_value = "timeout"
        store_batch(store, _request("dev-a", [new_attrs]))
        assert ('{"ml.inference.outcome":"timeout"}', "delta", "cumulative") in kinds(store)
    with Store.open(db, StoreConfig(maintenance=False)) as store:  # memory rebuilt from the file
        assert len(kinds(store)) == 4


def test_feature_histograms_of_both_kinds_reach_the_drift_detectors(tmp_path: Path) -> None:
    now_ns = time.time_ns()
    limiter = CardinalityLimiter(max_series_per_metric=50, max_series_per_device=500)
    explicit = m.Metric(name=semconv.FEATURE_VALUE, unit="1")
    explicit.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    explicit.histogram.data_points.add(
        start_time_unix_nano=now_ns - 60 * 10**9,
        time_unix_nano=now_ns - 10**9,
        count=40,
        sum=60.0,
        explicit_bounds=[1.0, 2.0],
        bucket_counts=[10, 20, 10],
        attributes=[kv(semconv.FEATURE_NAME, "f00")],
    )
    with Store.open(tmp_path / "f.duckdb", StoreConfig(maintenance=False)) as store:
        for request in (
            _request("otel-1", [explicit]),
            device_batch("dev-a", end_ns=now_ns - 10**9, features=2, inferences=100),
        ):
            batch = convert(
                request, received_s=now_ns / 1e9, limits=IngestLimits(), limiter=limiter
            )
            store.submit(batch.batch).result(10)
        per_feature = store.merged_histograms(
            semconv.FEATURE_VALUE,
            semconv.FEATURE_NAME,
            start=from_unix_s(now_ns / 1e9 - 600),
            end=from_unix_s(now_ns / 1e9),
        )
        assert {f: h.count for f, h in per_feature.items()} == {"f00": 140, "f01": 100}
        only_explicit = store.merged_histograms(
            semconv.FEATURE_VALUE,
            semconv.FEATURE_NAME,
            start=from_unix_s(now_ns / 1e9 - 600),
            end=from_unix_s(now_ns / 1e9),
            selection=Selection(device_id="otel-1"),
        )
        assert only_explicit["f00"].sum == 60.0
        assert 1.0 < quantile(only_explicit["f00"], 0.5) < 2.0


_KIND = st.sampled_from(["gauge", "delta", "exp_histogram", "histogram"])


@given(
    st.dictionaries(
        st.sampled_from(["d1", "d2", "d3", "d4"]), st.frozensets(_KIND, min_size=1), min_size=1
    ),
    st.booleans(),
)
def test_a_device_of_another_kind_never_changes_what_the_others_answer(
    by_device: dict[str, frozenset[str]], histogram: bool
) -> None:
    def reads(by_device: dict[str, frozenset[str]]) -> frozenset[str]:
        return answer_for(frozenset().union(*by_device.values()), len(by_device) > 1, histogram)

    kinds = reads(by_device)
    assert kinds and kinds <= frozenset().union(*by_device.values())
    needed = HISTOGRAM_KINDS if histogram else frozenset({"gauge", "delta"})
    if kinds <= needed:
        other = "gauge" if histogram else "exp_histogram"
        assert reads({**by_device, "odd": frozenset({other})}) == kinds
    if len(by_device) == 1:
        assert kinds == next(iter(by_device.values()))
