"""``ExportMetricsServiceRequest`` → a validated ``Batch`` plus rejected points by reason.

Pure: no sockets, no database, no clock (the receive time is a parameter). Every data point
is checked on its own; a bad point is rejected and counted while its neighbours are kept.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2

from edgewatch.collector import semconv
from edgewatch.detectors import MAX_SCALE, MIN_SCALE
from edgewatch.server.ingest._buckets import (
    MAX_HISTOGRAM_BUCKETS,
    coarsened_explicit,
    downscaled,
    fitting_shift,
    index_problem,
)
from edgewatch.server.ingest._cardinality import Admission, CardinalityLimiter
from edgewatch.server.store import (
    Batch,
    DeviceUpdate,
    ExpHistogramRows,
    HistogramRows,
    MetricInfo,
    NumericRows,
)

DEVICE_ID_FALLBACKS = (semconv.DEVICE_ID, "service.instance.id", "host.name", semconv.SERVICE_NAME)
"""Resource attributes tried in order for a device's id; plain OTel clients rarely set ``device.id``."""
MAX_DEVICE_ID_LENGTH = 256
_INT64_MAX = 2**63 - 1
"""OTLP counts are uint64; DuckDB BIGINT and numpy int64 hold up to this."""
_SUM_LIMIT = float(2**63)
"""Largest sum value stored: OTLP's int64 bound. Sums are added up across points and devices
(counts in the fleet summary, rates in rules), and a few values near the largest float add
up to infinity."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (C0, DEL, C1): never part of a usable metric name or device id."""
_DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
_NUMERIC_KIND = {_DELTA: "delta", metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative"}
_ROWS = {"gauge": "numeric", "sum": "numeric", "exponential_histogram": "exp", "histogram": "hist"}
"""Which rows of a ``Batch`` each OTLP data type fills (see ``Batch.metric_kinds``)."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Timestamp window a point must fall in, relative to the receive time, and the widest
    histogram stored as sent (buckets per side of an exponential one, buckets of an explicit
    one)."""

    max_future_skew_s: float = 300.0
    max_age_s: float = 7 * 86_400.0
    max_histogram_buckets: int = MAX_HISTOGRAM_BUCKETS

    def __post_init__(self) -> None:
        if self.max_histogram_buckets < 4:  # MIN_SCALE spans every float in four buckets
            raise ValueError(
                f"max_histogram_buckets must be >= 4, got {self.max_histogram_buckets}"
            )


@dataclass(frozen=True, slots=True)
class Converted:
    """The batch to store, rejected points by reason, and the partial-success message."""

    batch: Batch
    rejected: dict[str, int]
    message: str

    @property
    def rejected_count(self) -> int:
        """Data points rejected."""
        return sum(self.rejected.values())


class _KeyedRows(Protocol):
    """The columns every kind of rows has: the series key and the point's times."""

    device_id: list[str]
    metric: list[str]
    attrs: list[str]
    start_us: list[int | None]
    ts_us: list[int]


class _RejectedError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _any_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    value = getattr(v, kind)
    if kind == "double_value" and not math.isfinite(value):
        return str(value)
    return value


def attributes_dict(attributes: Any) -> dict[str, Any]:
    """OTLP KeyValue list → plain dict."""
    return {kv.key: _any_value(kv.value) for kv in attributes}


_ATTRS_CACHE: dict[tuple[bytes, ...], str] = {}
_ATTRS_CACHE_MAX = 65_536
"""Distinct attribute sets remembered (a few MB); the cache is emptied when it fills."""


def _attrs_json(attributes: Any) -> str:
    """Canonical JSON of a point's attributes, cached by their wire bytes.

    Most series repeat in every batch, so the wire form of the attribute list (one serialised
    KeyValue per entry: a tuple, so entries cannot run into each other) maps to the same JSON
    again and again; serialising is about 4x cheaper than rebuilding the JSON. Dict reads and
    writes are atomic under the GIL, so threads may share the cache without a lock.
    """
    if not attributes:
        return "{}"
    key = tuple([kv.SerializeToString() for kv in attributes])
    text = _ATTRS_CACHE.get(key)
    if text is None:
        text = json.dumps(attributes_dict(attributes), sort_keys=True, separators=(",", ":"))
        if len(_ATTRS_CACHE) >= _ATTRS_CACHE_MAX:
            _ATTRS_CACHE.clear()
        _ATTRS_CACHE[key] = text
    return text


def _usable_id(value: Any) -> str | None:
    if (
        isinstance(value, str)
        and value.strip()
        and len(value) <= MAX_DEVICE_ID_LENGTH
        and not _CONTROL.search(value)
    ):
        return value
    return None


def device_id_of(
    resource_attributes: dict[str, Any], token_device: str | None = None
) -> str | None:
    """The device id of a resource, or None when unusable: its ``device.id``; else
    ``token_device``, the device of the device token that sent it; else the first usable of
    the other ``DEVICE_ID_FALLBACKS``.

    A device token names its device, so it wins over the guesses: the OpenTelemetry SDKs in
    their defaults (Node.js ``sdk-node``, .NET, the Java agent) draw a random
    ``service.instance.id`` at every process start, which would make every restart a new
    device and every export of a device token a 403.
    """
    explicit = _usable_id(resource_attributes.get(DEVICE_ID_FALLBACKS[0]))
    if explicit is not None:
        return explicit
    if token_device is not None:
        return token_device
    for key in DEVICE_ID_FALLBACKS[1:]:
        value = _usable_id(resource_attributes.get(key))
        if value is not None:
            return value
    return None


def resource_device_ids(
    request: ExportMetricsServiceRequest, token_device: str | None = None
) -> list[str | None]:
    """Device id of each ResourceMetrics (for the token check before anything is stored)."""
    return [
        device_id_of(attributes_dict(rm.resource.attributes), token_device)
        for rm in request.resource_metrics
    ]


def _str_or_none(attrs: dict[str, Any], key: str) -> str | None:
    value = attrs.get(key)
    return None if value is None else str(value)


def _exp_problem(
    scale: int, bucket_total: int, count: int, lo: float | None, hi: float | None
) -> str | None:
    """What ``edgewatch.detectors.validate`` would say about a wire histogram, or None.

    The same checks and messages on plain integers: building an ``ExpHistogram`` with numpy
    arrays for each of a batch's small histograms cost more than the checks themselves.
    ``bucket_total`` is zero count plus every bucket count. Checks that cannot fail on the
    wire are left out: counts are uint64 (never negative) and ``sum`` was found finite before.
    ``tests/server/test_ingest_convert.py`` keeps this in step with ``validate``.
    """
    if not MIN_SCALE <= scale <= MAX_SCALE:
        return f"scale {scale} outside [{MIN_SCALE}, {MAX_SCALE}]"
    if bucket_total != count:
        return f"count {count} does not equal the sum of bucket counts {bucket_total}"
    if count and lo is not None and hi is not None and lo > hi:
        return f"min {lo} is greater than max {hi}"
    return None


def _sum_of(p: Any, count: int) -> float | None:
    """A histogram point's sum, or None when it left it out (optional in OTLP; the OTel SDKs
    do when negative values were recorded): unknown, not 0. An empty point's sum is 0 whether
    sent or not (protobuf writers leave out a 0.0)."""
    return p.sum if count == 0 or p.HasField("sum") else None


class _Converter:
    def __init__(
        self, *, received_s: float, limits: IngestLimits, limiter: CardinalityLimiter
    ) -> None:
        self.received_ns = int(received_s * 1e9)
        self.newest_ns = self.received_ns + int(limits.max_future_skew_s * 1e9)
        self.oldest_ns = self.received_ns - int(limits.max_age_s * 1e9)
        self.max_buckets = limits.max_histogram_buckets
        self.limiter = limiter
        self.numeric = NumericRows()
        self.exp = ExpHistogramRows()
        self.hist = HistogramRows()
        self.metrics: dict[str, MetricInfo] = {}
        self.new_series: list[tuple[str, str, str]] = []
        self.metric_kinds: set[tuple[str, str, str, str]] = set()
        self.rejected: Counter[str] = Counter()
        self.details: dict[str, str] = {}
        self.accepted = 0

    def reject(self, reason: str, detail: str, n: int = 1) -> None:
        self.rejected[reason] += n
        self.details.setdefault(reason, detail)

    def add_key(self, rows: _KeyedRows, device: str, metric: str, point: Any) -> None:
        """Check a point's timestamps and series, then append its series key and times to
        ``rows``; called last, when nothing else about the point can be rejected."""
        ts = point.time_unix_nano
        if ts == 0:
            raise _RejectedError("missing_timestamp", f"{metric}: time_unix_nano is 0")
        if ts > self.newest_ns:
            raise _RejectedError(
                "future_timestamp",
                f"{metric}: timestamp {(ts - self.received_ns) / 1e9:.0f} s ahead of the server clock",
            )
        if ts < self.oldest_ns:
            raise _RejectedError("too_old", f"{metric}: timestamp older than the retention window")
        start = point.start_time_unix_nano
        if start > ts:
            raise _RejectedError(
                "invalid_timestamp",
                f"{metric}: start_time_unix_nano {start} is after time_unix_nano {ts}",
            )
        attrs = _attrs_json(point.attributes)
        admission = self.limiter.admit(device, metric, attrs)
        if admission is not Admission.KNOWN:
            if admission is not Admission.NEW:
                raise _RejectedError(
                    "cardinality", f"{metric}: {admission.value} for device {device}"
                )
            self.new_series.append((device, metric, attrs))
        rows.device_id.append(device)
        rows.metric.append(metric)
        rows.attrs.append(attrs)
        rows.start_us.append(start // 1000 if start else None)
        rows.ts_us.append(ts // 1000)

    def catalogue(self, metric: Any, kind: str) -> None:
        if metric.name not in self.metrics:
            self.metrics[metric.name] = MetricInfo(
                metric.name, kind, metric.unit, metric.description
            )

    def add_numeric(self, device: str, name: str, kind: str, monotonic: bool, point: Any) -> None:
        which = point.WhichOneof("value")
        if which is None:
            raise _RejectedError("missing_value", f"{name}: data point has no value")
        value = float(getattr(point, which))
        if not math.isfinite(value):
            raise _RejectedError("non_finite", f"{name}: value is {value}")
        if monotonic and value < 0:
            raise _RejectedError(
                "negative_count", f"{name}: monotonic sum has negative value {value}"
            )
        if kind != "gauge" and abs(value) > _SUM_LIMIT:
            raise _RejectedError(
                "out_of_range", f"{name}: {kind} sum {value:g} is beyond ±2**63 (int64)"
            )
        n = self.numeric
        self.add_key(n, device, name, point)
        n.kind.append(kind)
        n.value.append(value)

    def add_exp(self, device: str, name: str, temporality: str, p: Any) -> None:
        """One exponential-histogram point; the ingest hot path, so fields are read once."""
        positive, negative = p.positive, p.negative
        pos_list = list(positive.bucket_counts)
        neg_list = list(negative.bucket_counts)
        count, zero_count, scale = p.count, p.zero_count, p.scale
        total = _sum_of(p, count)
        lo = p.min if p.HasField("min") else None
        hi = p.max if p.HasField("max") else None
        pos_total, neg_total = sum(pos_list), sum(neg_list)
        # Bucket counts are uint64 on the wire (never negative), so one beyond int64 makes its
        # side's total exceed it too: the exact max() runs only when a total is that large.
        if (
            count > _INT64_MAX
            or zero_count > _INT64_MAX
            or (pos_total > _INT64_MAX and max(pos_list) > _INT64_MAX)
            or (neg_total > _INT64_MAX and max(neg_list) > _INT64_MAX)
        ):
            raise _RejectedError("invalid_histogram", f"{name}: a count exceeds 2**63 - 1")
        if total is not None and not math.isfinite(total):
            raise _RejectedError("non_finite", f"{name}: sum is {total}")
        if lo is not None and not math.isfinite(lo):
            raise _RejectedError("non_finite", f"{name}: min is {lo}")
        if hi is not None and not math.isfinite(hi):
            raise _RejectedError("non_finite", f"{name}: max is {hi}")
        problem = _exp_problem(scale, zero_count + pos_total + neg_total, count, lo, hi) or (
            index_problem(scale, "positive", positive.offset, len(pos_list))
            or index_problem(scale, "negative", negative.offset, len(neg_list))
        )
        if problem is not None:
            raise _RejectedError("invalid_histogram", f"{name}: {problem}")
        pos_offset, neg_offset = positive.offset, negative.offset
        if len(pos_list) > self.max_buckets or len(neg_list) > self.max_buckets:
            shift = fitting_shift(
                ((pos_offset, len(pos_list)), (neg_offset, len(neg_list))),
                self.max_buckets,
                scale - MIN_SCALE,
            )
            scale -= shift
            pos_offset, pos_list = downscaled(pos_offset, pos_list, shift)
            neg_offset, neg_list = downscaled(neg_offset, neg_list, shift)
        r = self.exp
        self.add_key(r, device, name, p)
        r.temporality.append(temporality)
        r.scale.append(scale)
        r.zero_count.append(zero_count)
        r.pos_offset.append(pos_offset)
        r.pos_counts.append(pos_list)
        r.neg_offset.append(neg_offset)
        r.neg_counts.append(neg_list)
        r.count.append(count)
        r.sum.append(total)
        r.min.append(lo)
        r.max.append(hi)

    def add_histogram(self, device: str, name: str, temporality: str, p: Any) -> None:
        bounds = list(p.explicit_bounds)
        counts = list(p.bucket_counts)
        if max([p.count, *counts]) > _INT64_MAX:
            raise _RejectedError("invalid_histogram", f"{name}: a count exceeds 2**63 - 1")
        if counts and len(counts) != len(bounds) + 1:
            raise _RejectedError(
                "invalid_histogram",
                f"{name}: {len(counts)} bucket counts for {len(bounds)} bounds (want bounds + 1)",
            )
        if sum(counts) != p.count and counts:
            raise _RejectedError(
                "invalid_histogram", f"{name}: count {p.count} != sum of buckets {sum(counts)}"
            )
        if any(not math.isfinite(b) for b in bounds) or any(
            a >= b for a, b in itertools.pairwise(bounds)
        ):
            raise _RejectedError(
                "invalid_histogram", f"{name}: bounds must be finite and increasing"
            )
        for field_name in ("sum", "min", "max"):
            if p.HasField(field_name) and not math.isfinite(getattr(p, field_name)):
                raise _RejectedError(
                    "non_finite", f"{name}: {field_name} is {getattr(p, field_name)}"
                )
        if p.count and p.HasField("min") and p.HasField("max") and p.min > p.max:
            raise _RejectedError(
                "invalid_histogram", f"{name}: min {p.min} is greater than max {p.max}"
            )
        bounds, counts = coarsened_explicit(bounds, counts, self.max_buckets)
        r = self.hist
        self.add_key(r, device, name, p)
        r.temporality.append(temporality)
        r.bounds.append(bounds)
        r.counts.append(counts)
        r.count.append(p.count)
        r.sum.append(_sum_of(p, p.count))
        r.min.append(p.min if p.HasField("min") else None)
        r.max.append(p.max if p.HasField("max") else None)

    def add_metric(self, device: str, metric: Any) -> int:
        """Convert one Metric; returns the newest point time (ns) seen, or 0."""
        which = metric.WhichOneof("data")
        name = metric.name
        if not name or _CONTROL.search(name):
            self.reject(
                "invalid_name",
                f"metric name {name!r} is empty or has control characters",
                _point_count(metric),
            )
            return 0
        add: Callable[..., None]
        extra: tuple[object, ...]
        if which == "gauge":
            self.catalogue(metric, "gauge")
            points, add, extra = metric.gauge.data_points, self.add_numeric, ("gauge", False)
        elif which == "sum":
            kind = _NUMERIC_KIND.get(metric.sum.aggregation_temporality, "cumulative")
            if not metric.sum.is_monotonic:
                kind = "gauge" if kind == "cumulative" else kind
            self.catalogue(metric, kind)
            points, add = metric.sum.data_points, self.add_numeric
            extra = (kind, metric.sum.is_monotonic)
        elif which == "exponential_histogram":
            data = metric.exponential_histogram
            self.catalogue(metric, "exp_histogram")
            points, add = data.data_points, self.add_exp
            extra = ("delta" if data.aggregation_temporality == _DELTA else "cumulative",)
        elif which == "histogram":
            self.catalogue(metric, "histogram")
            points, add = metric.histogram.data_points, self.add_histogram
            delta = metric.histogram.aggregation_temporality == _DELTA
            extra = ("delta" if delta else "cumulative",)
        elif which == "summary":
            return self.add_summary(device, metric)
        else:
            return 0
        newest, accepted = 0, self.accepted
        for p in points:
            ts = p.time_unix_nano
            if ts > newest:
                newest = ts
            self._guard(add, device, name, *extra, p)
        if self.accepted > accepted:
            self.metric_kinds.add((device, name, _ROWS[which], str(extra[0])))
        return newest

    def add_summary(self, device: str, metric: Any) -> int:
        """Summaries become plain series: ``<name>.count``, ``<name>.sum`` and ``<name>`` by quantile."""
        newest = 0
        for p in metric.summary.data_points:
            newest = max(newest, p.time_unix_nano)
            derived: list[tuple[str, str, float, dict[str, str]]] = [
                (f"{metric.name}.count", "cumulative", float(p.count), {}),
                (f"{metric.name}.sum", "cumulative", p.sum, {}),
            ] + [
                (metric.name, "gauge", q.value, {"quantile": str(q.quantile)})
                for q in p.quantile_values
            ]
            for name, kind, value, extra in derived:
                point = metrics_pb2.NumberDataPoint(
                    start_time_unix_nano=p.start_time_unix_nano,
                    time_unix_nano=p.time_unix_nano,
                    as_double=value,
                    attributes=list(p.attributes),
                )
                for key, text in extra.items():
                    kv = point.attributes.add()
                    kv.key, kv.value.string_value = key, text
                if name not in self.metrics:
                    self.metrics[name] = MetricInfo(name, kind, metric.unit, metric.description)
                accepted = self.accepted
                self._guard(self.add_numeric, device, name, kind, False, point)
                if self.accepted > accepted:
                    self.metric_kinds.add((device, name, "numeric", kind))
        return newest

    def _guard(self, add: Callable[..., None], *args: Any) -> None:
        try:
            add(*args)
        except _RejectedError as r:
            self.reject(r.reason, r.detail)
        else:
            self.accepted += 1


def _message(rejected: Counter[str], details: dict[str, str], total: int) -> str:
    if not rejected:
        return ""
    reasons = ", ".join(f"{reason}={n}" for reason, n in sorted(rejected.items()))
    examples = "; ".join(details[r] for r in sorted(rejected))
    return f"rejected {sum(rejected.values())} of {total} data points ({reasons}): {examples}"


def convert(
    request: ExportMetricsServiceRequest,
    *,
    received_s: float,
    limits: IngestLimits,
    limiter: CardinalityLimiter,
    batch_key: str | None = None,
    token_device: str | None = None,
) -> Converted:
    """Validate every data point of a request and gather the good ones into a ``Batch``;
    ``token_device`` is the device of the device token that sent it (see ``device_id_of``)."""
    c = _Converter(received_s=received_s, limits=limits, limiter=limiter)
    devices: list[DeviceUpdate] = []
    for rm in request.resource_metrics:
        attrs = attributes_dict(rm.resource.attributes)
        device = device_id_of(attrs, token_device)
        points = sum(_point_count(m) for sm in rm.scope_metrics for m in sm.metrics)
        if device is None:
            if points:  # a resource without points rejects nothing
                c.reject(
                    "invalid_device_id",
                    "resource has no usable device.id, service.instance.id, host.name or"
                    " service.name (non-empty, at most 256 characters, no control characters)",
                    points,
                )
            continue
        newest = 0
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                newest = max(newest, c.add_metric(device, metric))
        devices.append(
            DeviceUpdate(
                device_id=device,
                fleet=_str_or_none(attrs, semconv.FLEET),
                model_name=_str_or_none(attrs, semconv.MODEL_NAME),
                model_version=_str_or_none(attrs, semconv.MODEL_VERSION),
                hardware=_str_or_none(attrs, semconv.HARDWARE),
                runtime=_str_or_none(attrs, semconv.RUNTIME),
                host_arch=_str_or_none(attrs, semconv.HOST_ARCH),
                os_type=_str_or_none(attrs, semconv.OS_TYPE),
                service_name=_str_or_none(attrs, semconv.SERVICE_NAME),
                power_sources=_str_or_none(attrs, semconv.POWER_SOURCES),
                attributes_json=json.dumps(attrs, sort_keys=True),
                clock_skew_s=(newest - c.received_ns) / 1e9 if newest else None,
            )
        )
    batch = Batch(
        received_us=c.received_ns // 1000,
        devices=tuple(devices),
        metrics=tuple(c.metrics.values()),
        new_series=tuple(c.new_series),
        numeric=c.numeric,
        exp_histograms=c.exp,
        histograms=c.hist,
        batch_key=batch_key,
        key_device_id=devices[0].device_id if devices and batch_key else None,
        metric_kinds=frozenset(c.metric_kinds),
    )
    total = c.accepted + sum(c.rejected.values())
    return Converted(batch, dict(c.rejected), _message(c.rejected, c.details, total))


def _point_count(metric: Any) -> int:
    which = metric.WhichOneof("data")
    if which is None:
        return 0
    return len(getattr(metric, which).data_points)
