"""Decoding and per-point validation, without sockets."""

from __future__ import annotations

import contextlib
import gzip
import json
import time

import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import device_batch, kv

from edgewatch.detectors import ExpHistogram, validate
from edgewatch.server.ingest import (
    CardinalityLimiter,
    DecodeError,
    Encoding,
    IngestLimits,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    convert,
    decode_request,
    encoding_of,
    gunzip,
    resource_device_ids,
)


def _limiter(per_metric: int = 100, per_device: int = 1000) -> CardinalityLimiter:
    return CardinalityLimiter(max_series_per_metric=per_metric, max_series_per_device=per_device)


def _request(resource: list, metrics: list[m.Metric]) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(resource)
    rm.scope_metrics.add().metrics.extend(metrics)
    return req


def _gauge(name: str, value: float, ts: int) -> m.Metric:
    metric = m.Metric(name=name)
    metric.gauge.data_points.add(time_unix_nano=ts, as_double=value)
    return metric


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ([kv("device.id", "d1"), kv("host.name", "h")], "d1"),
        ([kv("service.instance.id", "i-7"), kv("host.name", "h"), kv("service.name", "s")], "i-7"),
        ([kv("host.name", "h"), kv("service.name", "s")], "h"),
        ([kv("service.name", "s")], "s"),
        ([kv("device.id", ""), kv("service.name", "s")], "s"),
        ([], None),
    ],
)
def test_device_id_falls_back_for_plain_clients(resource: list, expected: str | None) -> None:
    assert resource_device_ids(_request(resource, [])) == [expected]


SDK_DEFAULT_RESOURCE = [
    kv("service.name", "digits-app"),
    kv("service.instance.id", "4f9d6c1e-2b7a-4c3e-9a51-0d8e7f6a5b42"),  # random at each start
    kv("host.name", "gateway-17"),
]
"""What the Node.js sdk-node (also .NET, the Java agent) sends in its defaults: no device.id."""


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (SDK_DEFAULT_RESOURCE, "dev-b"),  # the token's device, not a process's random id
        ([kv("device.id", ""), *SDK_DEFAULT_RESOURCE], "dev-b"),
        ([kv("device.id", "dev-a"), *SDK_DEFAULT_RESOURCE], "dev-a"),  # refused later: 403
        ([], "dev-b"),
    ],
)
def test_a_device_tokens_device_wins_over_the_fallbacks(
    resource: list, expected: str | None
) -> None:
    now = time.time_ns()
    request = _request(resource, [_gauge("g", 1.0, now)])
    assert resource_device_ids(request, token_device="dev-b") == [expected]
    converted = convert(
        request, received_s=now / 1e9, limits=IngestLimits(), limiter=_limiter(),
        token_device="dev-b",
    )  # fmt: skip
    assert converted.rejected == {}
    assert [d.device_id for d in converted.batch.devices] == [expected]
    assert converted.batch.numeric.device_id == [expected]


def test_resource_without_identity_is_rejected_whole() -> None:
    now = time.time_ns()
    converted = convert(
        _request([], [_gauge("g", 1.0, now), _gauge("h", 2.0, now)]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    assert converted.rejected == {"invalid_device_id": 2}
    assert converted.batch.point_count == 0


def test_summary_becomes_plain_series_and_explicit_histogram_is_checked() -> None:
    now = time.time_ns()
    summary = m.Metric(name="rpc")
    p = summary.summary.data_points.add(time_unix_nano=now, count=10, sum=5.0)
    p.quantile_values.add(quantile=0.5, value=0.4)
    hist = m.Metric(name="size")
    hist.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    hist.histogram.data_points.add(
        time_unix_nano=now, count=3, bucket_counts=[1, 2], explicit_bounds=[10.0]
    )
    hist.histogram.data_points.add(
        time_unix_nano=now, count=3, bucket_counts=[1, 2], explicit_bounds=[1.0, 2.0]
    )
    converted = convert(
        _request([kv("device.id", "d")], [summary, hist]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    numeric = converted.batch.numeric
    assert sorted(zip(numeric.metric, numeric.value, strict=True)) == [
        ("rpc", 0.4),
        ("rpc.count", 10.0),
        ("rpc.sum", 5.0),
    ]
    assert converted.batch.histograms.bounds == [[10.0]]
    assert converted.rejected == {"invalid_histogram": 1}
    assert "2 bucket counts for 2 bounds" in converted.message


def test_cardinality_caps_per_metric_and_per_device() -> None:
    now = time.time_ns()
    metric = m.Metric(name="req")
    for i in range(5):
        metric.gauge.data_points.add(time_unix_nano=now, as_double=1.0, attributes=[kv("u", i)])
    other = _gauge("other", 1.0, now)
    limiter = _limiter(per_metric=3, per_device=4)
    converted = convert(
        _request([kv("device.id", "d")], [metric, other]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=limiter,
    )
    assert converted.rejected == {"cardinality": 2}
    assert "over_metric_cap" in converted.message
    again = convert(
        _request([kv("device.id", "d")], [_gauge("third", 1.0, now), _gauge("other", 2.0, now)]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=limiter,
    )
    assert again.rejected == {"cardinality": 1}
    assert "over_device_cap" in again.message
    assert again.batch.new_series == ()  # "other" was already known


def test_clock_skew_is_newest_point_minus_receive_time() -> None:
    now = time.time_ns()
    req = device_batch("d", end_ns=now + 30 * 10**9, features=1)
    converted = convert(req, received_s=now / 1e9, limits=IngestLimits(), limiter=_limiter())
    assert converted.batch.devices[0].clock_skew_s == pytest.approx(30.0)
    assert converted.batch.devices[0].power_sources == "battery,estimate"


def test_json_hex_ids_and_bad_ids() -> None:
    doc = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "g",
                                "gauge": {
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": "1",
                                            "asInt": "9007199254740993",
                                            "exemplars": [{"traceId": "zz", "asInt": 1}],
                                        }
                                    ]
                                },
                            }
                        ]
                    }
                ]
            }
        ]
    }
    bad = decode_request(json.dumps(doc).encode(), Encoding.JSON)
    bad_point = bad.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    assert (bad_point.as_int, len(bad_point.exemplars)) == (9007199254740993, 0)
    doc["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0][
        "exemplars"
    ][0]["traceId"] = "0af7651916cd43dd8448eb211c80319c"
    req = decode_request(json.dumps(doc).encode(), Encoding.JSON)
    point = req.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    assert point.as_int == 9007199254740993  # above 2**53: kept exact from the string form
    assert point.exemplars[0].trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"


def test_content_type_and_gzip_limits() -> None:
    assert encoding_of("application/json; charset=utf-8") is Encoding.JSON
    assert encoding_of("application/x-protobuf") is Encoding.PROTOBUF
    with pytest.raises(UnsupportedMediaTypeError, match="unsupported Content-Type None"):
        encoding_of(None)
    assert gunzip(gzip.compress(b"abc"), 3) == b"abc"
    with pytest.raises(PayloadTooLargeError):
        gunzip(gzip.compress(b"abcd"), 3)
    with pytest.raises(DecodeError, match="truncated"):
        gunzip(gzip.compress(b"abc" * 100)[:20], 1000)


def test_counts_beyond_int64_are_rejected_not_crashing() -> None:
    now = time.time_ns()
    exp = m.Metric(name="huge")
    exp.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    p = exp.exponential_histogram.data_points.add(time_unix_nano=now, count=2**64 - 1, sum=1.0)
    p.positive.bucket_counts.append(2**64 - 1)
    converted = convert(
        _request([kv("device.id", "d")], [exp, _gauge("fine", 1.0, now)]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    assert converted.rejected == {"invalid_histogram": 1}
    assert "exceeds 2**63 - 1" in converted.message
    assert converted.batch.numeric.metric == ["fine"]


def test_a_bucket_beyond_int64_is_rejected_even_when_the_count_fits() -> None:
    now = time.time_ns()
    exp = m.Metric(name="huge")
    exp.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    p = exp.exponential_histogram.data_points.add(time_unix_nano=now, count=5, sum=1.0)
    p.negative.bucket_counts.extend([1, 2**63, 4])
    converted = convert(
        _request([kv("device.id", "d")], [exp]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    assert converted.rejected == {"invalid_histogram": 1}
    assert "exceeds 2**63 - 1" in converted.message


@pytest.mark.parametrize(
    ("scale", "zero_count", "positive", "negative", "count", "lo", "hi"),
    [
        (3, 1, [2, 0, 5], [1], 9, 0.5, 4.0),
        (21, 0, [1], [], 1, 1.0, 1.0),
        (-11, 0, [1], [], 1, 1.0, 1.0),
        (0, 2, [1, 1], [3], 8, None, None),
        (0, 0, [], [], 0, None, None),
        (5, 0, [4], [], 4, 3.0, 2.0),
        (5, 0, [], [], 0, 3.0, 2.0),
    ],
)
def test_histogram_checks_say_what_the_detectors_validate_says(
    scale: int,
    zero_count: int,
    positive: list[int],
    negative: list[int],
    count: int,
    lo: float | None,
    hi: float | None,
) -> None:
    """Ingest checks wire histograms without building ``ExpHistogram``; verdict and message
    must stay those of ``edgewatch.detectors.validate``."""
    now = time.time_ns()
    exp = m.Metric(name="h")
    exp.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    p = exp.exponential_histogram.data_points.add(
        time_unix_nano=now, count=count, sum=1.5, scale=scale, zero_count=zero_count
    )
    p.positive.offset, p.negative.offset = -2, 4
    p.positive.bucket_counts.extend(positive)
    p.negative.bucket_counts.extend(negative)
    if lo is not None and hi is not None:
        p.min, p.max = lo, hi
    converted = convert(
        _request([kv("device.id", "d")], [exp]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    reference = ExpHistogram(
        scale=scale,
        zero_count=zero_count,
        positive_offset=-2,
        positive_counts=np.asarray(positive, dtype=np.int64),
        negative_offset=4,
        negative_counts=np.asarray(negative, dtype=np.int64),
        count=count,
        sum=1.5,
        min=float("nan") if lo is None else lo,
        max=float("nan") if hi is None else hi,
    )
    problem = None
    try:
        validate(reference)
    except ValueError as e:
        problem = str(e)
    if problem is not None:
        assert converted.rejected == {"invalid_histogram": 1}
        assert f"h: {problem}" in converted.message
    else:
        assert converted.rejected == {}
        rows = converted.batch.exp_histograms
        assert (rows.pos_counts, rows.neg_counts, rows.count) == ([positive], [negative], [count])
        assert (rows.min, rows.max, rows.scale) == ([lo], [hi], [scale])


def test_attribute_json_tells_apart_types_and_order_of_the_same_keys() -> None:
    now = time.time_ns()
    metric = m.Metric(name="g")
    for attrs in (
        [kv("a", 1)],
        [kv("a", "1")],
        [kv("a", 1)],
        [kv("b", True), kv("a", 1.5)],
        [kv("a", 1.5), kv("b", True)],
    ):
        metric.gauge.data_points.add(time_unix_nano=now, as_double=1.0).attributes.extend(attrs)
    converted = convert(
        _request([kv("device.id", "d")], [metric]),
        received_s=now / 1e9,
        limits=IngestLimits(),
        limiter=_limiter(),
    )
    assert converted.batch.numeric.attrs == [
        '{"a":1}',
        '{"a":"1"}',
        '{"a":1}',
        '{"a":1.5,"b":true}',
        '{"a":1.5,"b":true}',
    ]
    assert len(converted.batch.new_series) == 3


@pytest.mark.parametrize("encoding", [Encoding.PROTOBUF, Encoding.JSON])
def test_hostile_bodies_are_decode_errors(encoding: Encoding) -> None:
    """Random bytes and deep nesting either decode or raise DecodeError (→ 400), nothing else."""
    rng = np.random.default_rng(3)
    bodies = [rng.bytes(int(n)) for n in rng.integers(1, 400, 200)]
    bodies += [b"[" * 100_000, b'{"a":' * 50_000, b"\x0a\xff\xff\xff\xff\x0f"]
    for body in bodies:
        with contextlib.suppress(DecodeError):
            decode_request(body, encoding)
