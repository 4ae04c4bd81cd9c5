"""Encode one export interval as an OTLP ``ExportMetricsServiceRequest`` (protobuf, then gzip).

Pure: the Monitor gathers the interval's numbers, this module only shapes them for the wire
(see the wire contract: delta exponential histograms, delta monotonic int sums, double gauges).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from edgewatch.collector import semconv
from edgewatch.collector._drops import DropTotals
from edgewatch.collector._labels import LabelSnapshot
from edgewatch.collector._recorder import InferenceSnapshot
from edgewatch.collector._types import Reading
from edgewatch.collector._version import VERSION
from edgewatch.detectors import ExpHistogram, from_values

SCOPE_NAME = "edgewatch.collector"
_DELTA = pb.AGGREGATION_TEMPORALITY_DELTA


@dataclass(frozen=True, slots=True)
class Telemetry:
    """The collector's own health over one interval (self-telemetry exported with the data)."""

    spool_depth: int
    spool_bytes: int
    batches: Mapping[str, int] = field(default_factory=dict)
    """Delta counts by result: sent, failed, dropped, quarantined."""
    sampler_errors: Mapping[str, int] = field(default_factory=dict)
    """Delta counts by sampler name."""
    last_success_unix: float | None = None
    drops: DropTotals = field(default_factory=DropTotals)
    """Cumulative losses, durable across restarts (sent as gauges once non-empty)."""


def _attrs(attributes: Mapping[str, str]) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=str(v))) for k, v in attributes.items()]


class _Builder:
    def __init__(self, start_ns: int, end_ns: int) -> None:
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.metrics: list[pb.Metric] = []
        self._by_name: dict[str, pb.Metric] = {}

    def _metric(self, name: str, unit: str, kind: str) -> pb.Metric:
        metric = self._by_name.get(name)
        if metric is None:
            metric = pb.Metric(name=name, unit=unit)
            if kind == "sum":
                metric.sum.aggregation_temporality = _DELTA
                metric.sum.is_monotonic = True
            elif kind == "exp":
                metric.exponential_histogram.aggregation_temporality = _DELTA
            else:
                metric.gauge.SetInParent()
            self._by_name[name] = metric
            self.metrics.append(metric)
        return metric

    def _point(
        self,
        name: str,
        unit: str,
        kind: str,
        attributes: Mapping[str, str],
        window: tuple[int, int] | None = None,
    ) -> Any:
        metric = self._metric(name, unit, kind)
        data = (
            metric.sum
            if kind == "sum"
            else metric.gauge
            if kind == "gauge"
            else metric.exponential_histogram
        )
        point = data.data_points.add()
        point.attributes.extend(_attrs(attributes))
        point.start_time_unix_nano, point.time_unix_nano = window or (self.start_ns, self.end_ns)
        return point

    def count(
        self,
        name: str,
        value: int,
        attributes: Mapping[str, str],
        unit: str = "1",
        window: tuple[int, int] | None = None,
    ) -> None:
        self._point(name, unit, "sum", attributes, window).as_int = int(value)

    def total(
        self,
        name: str,
        value: float,
        attributes: Mapping[str, str],
        unit: str,
        window: tuple[int, int],
    ) -> None:
        """A delta sum of doubles (e.g. squared errors) over ``window``."""
        self._point(name, unit, "sum", attributes, window).as_double = float(value)

    def gauge(self, name: str, value: float, attributes: Mapping[str, str], unit: str = "") -> None:
        self._point(name, unit, "gauge", attributes).as_double = float(value)

    def histogram(
        self,
        name: str,
        h: ExpHistogram,
        attributes: Mapping[str, str],
        unit: str = "",
        window: tuple[int, int] | None = None,
    ) -> None:
        point = self._point(name, unit, "exp", attributes, window)
        point.count = h.count
        point.scale = h.scale
        point.zero_count = h.zero_count
        if h.count:
            point.sum = h.sum
            point.min = h.min
            point.max = h.max
        _set_buckets(point.positive, h.positive_offset, h.positive_counts)
        _set_buckets(point.negative, h.negative_offset, h.negative_counts)


def _set_buckets(
    buckets: pb.ExponentialHistogramDataPoint.Buckets, offset: int, counts: np.ndarray
) -> None:
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return
    buckets.offset = offset + int(nz[0])
    buckets.bucket_counts.extend(counts[nz[0] : nz[-1] + 1].tolist())


def build_request(
    resource: Mapping[str, str],
    start_ns: int,
    end_ns: int,
    inference: InferenceSnapshot,
    feature_names: Sequence[str],
    missing_names: Sequence[str],
    readings: Sequence[Reading],
    energy: Sequence[Reading],
    telemetry: Telemetry,
    labels: LabelSnapshot | None = None,
) -> ExportMetricsServiceRequest:
    """The OTLP request for one interval; zero inference counts are still sent (the heartbeat)."""
    b = _Builder(start_ns, end_ns)
    b.count(semconv.INFERENCE_COUNT, inference.ok, {semconv.OUTCOME: semconv.OUTCOME_OK})
    b.count(semconv.INFERENCE_COUNT, inference.errors, {semconv.OUTCOME: semconv.OUTCOME_ERROR})
    b.histogram(semconv.INFERENCE_DURATION, inference.latency, {}, "s")
    if inference.score.count:
        b.histogram(semconv.PREDICTION_SCORE, inference.score, {})
    for label, n in inference.classes.items():
        b.count(semconv.PREDICTION_CLASS_COUNT, n, {semconv.PREDICTION_CLASS: label})
    for name, h in zip(feature_names, inference.features, strict=True):
        b.histogram(semconv.FEATURE_VALUE, h, {semconv.FEATURE_NAME: name})
    for (name, category), n in inference.categories.items():
        b.count(
            semconv.FEATURE_CATEGORY_COUNT,
            n,
            {semconv.FEATURE_NAME: name, semconv.FEATURE_CATEGORY: category},
        )
    for name, n in zip(missing_names, inference.missing, strict=True):
        if n:
            b.count(semconv.FEATURE_MISSING_COUNT, n, {semconv.FEATURE_NAME: name})
    for r in [*readings, *energy]:
        b.gauge(r.metric, r.value, r.attributes, r.unit)
    b.gauge(semconv.SPOOL_DEPTH, telemetry.spool_depth, {}, "{batch}")
    b.gauge(semconv.SPOOL_SIZE, telemetry.spool_bytes, {}, "By")
    if telemetry.last_success_unix is not None:
        b.gauge(semconv.LAST_SUCCESS, telemetry.last_success_unix, {}, "s")
    for result, n in telemetry.batches.items():
        b.count(semconv.BATCHES, n, {semconv.RESULT: result}, "{batch}")
    for sampler, n in telemetry.sampler_errors.items():
        b.count(semconv.SAMPLER_ERRORS, n, {semconv.SAMPLER: sampler}, "{error}")
    for reason, n in inference.dropped.items():
        b.count(semconv.DROPPED, n, {semconv.REASON: reason}, "{observation}")
    _drop_totals(b, telemetry.drops)
    if labels is not None:
        _labels(b, labels)
    return ExportMetricsServiceRequest(
        resource_metrics=[
            pb.ResourceMetrics(
                resource=Resource(attributes=_attrs(resource)),
                scope_metrics=[
                    pb.ScopeMetrics(
                        scope=InstrumentationScope(name=SCOPE_NAME, version=VERSION),
                        metrics=b.metrics,
                    )
                ],
            )
        ]
    )


def _drop_totals(b: _Builder, drops: DropTotals) -> None:
    if drops.empty:
        return
    for reason, n in sorted(drops.inferences.items()):
        b.gauge(semconv.DROPPED_TOTAL, n, {semconv.REASON: reason}, "{inference}")
    for reason, n in sorted(drops.batches.items()):
        b.gauge(semconv.BATCHES_DROPPED_TOTAL, n, {semconv.REASON: reason}, "{batch}")
    if drops.last_drop_unix is not None:
        b.gauge(semconv.LAST_DROP, drops.last_drop_unix, {}, "s")


def _labels(b: _Builder, labels: LabelSnapshot) -> None:
    """Joined labels, each in the interval its inference happened in (not this one)."""
    for w in labels.windows:
        window = (w.start_ns, w.end_ns)
        for (predicted, actual), n in sorted(w.confusion.items()):
            attributes = {semconv.PREDICTION_CLASS: predicted, semconv.LABEL_CLASS: actual}
            b.count(semconv.LABEL_COUNT, n, attributes, "{label}", window)
        if w.errors:
            e = np.asarray(w.errors, dtype=np.float64)
            b.histogram(semconv.PREDICTION_ERROR, from_values(e), {}, "", window)
            b.histogram(semconv.PREDICTION_ABS_ERROR, from_values(np.abs(e)), {}, "", window)
            b.total(semconv.PREDICTION_SQUARED_ERROR, float(e @ e), {}, "", window)
    for reason, n in sorted((labels.unmatched or {}).items()):
        b.count(semconv.LABELS_UNMATCHED, n, {semconv.REASON: reason}, "{label}")


def encode(request: ExportMetricsServiceRequest) -> bytes:
    """Serialized and gzip-compressed, as it goes on the wire (``Content-Encoding: gzip``)."""
    return gzip.compress(request.SerializeToString(), compresslevel=6, mtime=0)
