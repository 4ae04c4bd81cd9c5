"""Issue #12 at the converter, without sockets: bucket indexes beyond any float are refused,
wide points are downscaled as ``detectors.downscale`` would, explicit histograms without
buckets are kept, explicit ones with too many are stored coarser, and unusable names,
device ids and times are refused per point."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from otlp_wire import kv

from edgewatch.detectors import (
    MAX_SCALE,
    MIN_SCALE,
    ExpHistogram,
    downscale,
    index_range,
    validate,
)
from edgewatch.server.ingest import CardinalityLimiter, Converted, IngestLimits, convert
from edgewatch.server.ingest._buckets import coarsened_explicit

NOW_S = time.time()
END_NS = int(NOW_S * 1e9)


def _convert(metrics: list[m.Metric], device: str = "d1", **limits: int) -> Converted:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.append(kv("device.id", device))
    rm.scope_metrics.add().metrics.extend(metrics)
    return convert(
        req,
        received_s=NOW_S,
        limits=IngestLimits(**limits),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
    )


def _exp(scale: int, offset: int, counts: list[int], name: str = "h") -> m.Metric:
    metric = m.Metric(name=name)
    metric.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    p = metric.exponential_histogram.data_points.add(
        time_unix_nano=END_NS, count=sum(counts), sum=1.0, scale=scale
    )
    p.positive.offset = offset
    p.positive.bucket_counts.extend(counts)
    return metric


@pytest.mark.parametrize("scale", [MIN_SCALE, -3, 0, 7, MAX_SCALE])
def test_buckets_beyond_the_floats_are_refused_and_the_edges_kept(scale: int) -> None:
    lowest, highest = index_range(scale)
    converted = _convert(
        [
            _exp(scale, highest, [1, 1], "over"),
            _exp(scale, lowest - 1, [1], "under"),
            _exp(scale, highest, [1], "top"),
            _exp(scale, lowest, [1], "bottom"),
        ]
    )
    assert converted.rejected == {"invalid_histogram": 2}
    assert "beyond the range of a float" in converted.message
    assert converted.batch.exp_histograms.metric == ["top", "bottom"]


@given(
    scale=st.integers(MIN_SCALE, MAX_SCALE),
    start=st.floats(0.0, 1.0),
    counts=st.lists(st.integers(0, 5), min_size=1, max_size=300),
    max_buckets=st.integers(4, 64),
)
def test_wide_points_are_stored_as_detectors_downscale_them(
    scale: int, start: float, counts: list[int], max_buckets: int
) -> None:
    lowest, highest = index_range(scale)
    counts = counts[: highest - lowest + 1]  # at MIN_SCALE every float lies in four buckets
    offset = lowest + int(start * (highest - lowest + 1 - len(counts)))
    converted = _convert([_exp(scale, offset, counts)], max_histogram_buckets=max_buckets)
    rows = converted.batch.exp_histograms
    assert converted.rejected == {}
    assert len(rows.pos_counts[0]) <= max(max_buckets, 1)
    sent = ExpHistogram(
        scale, 0, offset, np.asarray(counts, np.int64), 0, np.zeros(0, np.int64),
        sum(counts), 1.0, float("nan"), float("nan"),
    )  # fmt: skip
    expected = downscale(sent, scale - rows.scale[0])
    stored = ExpHistogram(
        rows.scale[0], 0, rows.pos_offset[0], np.asarray(rows.pos_counts[0], np.int64),
        0, np.zeros(0, np.int64), rows.count[0], 1.0, float("nan"), float("nan"),
    )  # fmt: skip
    assert stored == expected
    if len(counts) <= max_buckets:
        assert rows.scale[0] == scale


def test_max_histogram_buckets_below_four_is_refused() -> None:
    with pytest.raises(ValueError, match="max_histogram_buckets must be >= 4, got 3"):
        IngestLimits(max_histogram_buckets=3)


def test_explicit_histogram_without_buckets_keeps_count_and_sum() -> None:
    metric = m.Metric(name="size")
    metric.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    metric.histogram.data_points.add(time_unix_nano=END_NS, count=3, sum=12.0)
    converted = _convert([metric])
    assert converted.rejected == {}
    rows = converted.batch.histograms
    assert (rows.bounds, rows.counts, rows.count, rows.sum) == ([[]], [[]], [3], [12.0])


def _bucket_ranges(bounds: list[float], n: int) -> list[tuple[float, float]]:
    """``(low, high]`` of each of ``n`` buckets: the first and last are open."""
    edges = [-np.inf, *bounds, np.inf]
    return [(edges[i], edges[i + 1]) for i in range(n)]


@given(
    sizes=st.integers(1, 300),
    max_buckets=st.integers(4, 64),
    seed=st.integers(0, 2**16),
)
def test_wide_explicit_points_keep_every_value_in_a_bucket_that_holds_it(
    sizes: int, max_buckets: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bounds = np.cumsum(rng.uniform(0.1, 2.0, sizes - 1)).tolist()
    counts = rng.integers(0, 5, sizes).tolist()
    got_bounds, got_counts = coarsened_explicit(bounds, counts, max_buckets)
    assert len(got_counts) <= max_buckets and len(got_bounds) == len(got_counts) - 1
    assert sum(got_counts) == sum(counts)
    coarse = _bucket_ranges(got_bounds, len(got_counts))
    for low, high in _bucket_ranges(bounds, sizes):  # each fine bucket lies in one coarse one
        assert any(lo <= low and high <= hi for lo, hi in coarse)
    if sizes <= max_buckets:
        assert (got_bounds, got_counts) == (bounds, counts)


def test_an_explicit_point_of_100k_buckets_is_stored_coarser_with_its_count() -> None:
    metric = m.Metric(name="size")
    metric.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    p = metric.histogram.data_points.add(time_unix_nano=END_NS, count=100_000, sum=5.0)
    p.explicit_bounds.extend(float(i) for i in range(1, 100_000))
    p.bucket_counts.extend([1] * 100_000)
    converted = _convert([metric])
    assert converted.rejected == {}
    rows = converted.batch.histograms
    assert len(rows.counts[0]) == 4000  # runs of 25 buckets: the fewest that fit in 4096
    assert rows.bounds[0][:2] == [25.0, 50.0] and sum(rows.counts[0]) == rows.count[0] == 100_000


@pytest.mark.parametrize(
    ("temporality", "monotonic", "value", "stored"),
    [
        (m.AGGREGATION_TEMPORALITY_DELTA, True, 1.7e308, False),
        (m.AGGREGATION_TEMPORALITY_DELTA, False, -1.7e308, False),
        (m.AGGREGATION_TEMPORALITY_CUMULATIVE, True, 2.0**64, False),
        (m.AGGREGATION_TEMPORALITY_DELTA, True, 2.0**63, True),
        (m.AGGREGATION_TEMPORALITY_CUMULATIVE, False, 1.7e308, True),  # a level: a gauge
    ],
)
def test_sums_beyond_int64_are_refused_before_they_add_up_to_infinity(
    temporality: int, monotonic: bool, value: float, stored: bool
) -> None:
    metric = m.Metric(name="ml.inference.count")
    metric.sum.aggregation_temporality = temporality
    metric.sum.is_monotonic = monotonic
    metric.sum.data_points.add(
        start_time_unix_nano=END_NS - 10**9, time_unix_nano=END_NS, as_double=value
    )
    converted = _convert([metric])
    assert converted.batch.numeric.value == ([value] if stored else [])
    assert converted.rejected == ({} if stored else {"out_of_range": 1})
    if not stored:
        assert "beyond ±2**63 (int64)" in converted.message


def _gauge(name: str, start_ns: int = 0) -> m.Metric:
    metric = m.Metric(name=name)
    metric.gauge.data_points.add(start_time_unix_nano=start_ns, time_unix_nano=END_NS, as_int=1)
    metric.gauge.data_points.add(start_time_unix_nano=start_ns, time_unix_nano=END_NS, as_int=2)
    return metric


@pytest.mark.parametrize("name", ["", "a\x00b", "tab\there", "bell\x07", "del\x7f", "c1\x85"])
def test_unusable_metric_names_are_refused_per_point(name: str) -> None:
    converted = _convert([_gauge(name), _gauge("fine")])
    assert converted.rejected == {"invalid_name": 2}
    assert converted.batch.numeric.metric == ["fine", "fine"]


def test_start_after_end_is_refused_per_point() -> None:
    converted = _convert([_gauge("backwards", END_NS + 1), _gauge("same", END_NS)])
    assert converted.rejected == {"invalid_timestamp": 2}
    assert "is after time_unix_nano" in converted.message
    assert converted.batch.numeric.metric == ["same", "same"]


@pytest.mark.parametrize("device", ["d\x001", "line\nbreak", "\x1b[31mred"])
def test_device_ids_with_control_characters_are_refused_per_resource(device: str) -> None:
    converted = _convert([_gauge("g")], device=device)
    assert converted.rejected == {"invalid_device_id": 2}
    assert converted.batch.devices == ()


@pytest.mark.parametrize(("scale", "offset", "size"), [(0, 1023, 2), (-10, -4, 1), (20, 2**30, 1)])
def test_range_refusal_says_what_the_detectors_validate_says(
    scale: int, offset: int, size: int
) -> None:
    converted = _convert([_exp(scale, offset, [1] * size)])
    counts = np.ones(size, np.int64)
    none = np.zeros(0, np.int64)
    nan = float("nan")
    with pytest.raises(ValueError) as raised:
        validate(ExpHistogram(scale, 0, offset, counts, 0, none, size, 1.0, nan, nan))
    assert converted.rejected == {"invalid_histogram": 1}
    assert f"h: {raised.value}" in converted.message


def test_explicit_min_above_max_is_refused_per_point_like_exponential() -> None:
    metric = m.Metric(name="size")
    metric.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    for lo, hi in ((5.0, 1.0), (0.5, 2.0)):
        p = metric.histogram.data_points.add(time_unix_nano=END_NS, count=4, sum=6.0)
        p.explicit_bounds.append(1.0)
        p.bucket_counts.extend([1, 3])
        p.min, p.max = lo, hi
    converted = _convert([metric, _exp(0, 0, [2], name="exp")])
    assert converted.rejected == {"invalid_histogram": 1}
    assert "size: min 5.0 is greater than max 1.0" in converted.message
    assert (converted.batch.histograms.min, converted.batch.histograms.max) == ([0.5], [2.0])
    assert converted.batch.exp_histograms.metric == ["exp"]


def test_a_histogram_sum_left_out_is_unknown_unless_the_point_is_empty() -> None:
    """OTLP makes ``sum`` optional; storing 0 for it skewed avg. An empty point's sum is 0."""
    exp = m.Metric(name="exp")
    exp.exponential_histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    explicit = m.Metric(name="explicit")
    explicit.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    for count in (3, 0):
        p = exp.exponential_histogram.data_points.add(time_unix_nano=END_NS, count=count)
        p.zero_count = count
        explicit.histogram.data_points.add(time_unix_nano=END_NS, count=count)
    exp.exponential_histogram.data_points.add(
        time_unix_nano=END_NS, count=2, sum=-1.5
    ).zero_count = 2
    converted = _convert([exp, explicit])
    assert converted.rejected == {}
    assert converted.batch.exp_histograms.sum == [None, 0.0, -1.5]
    assert converted.batch.histograms.sum == [None, 0.0]
