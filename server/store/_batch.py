"""Validated columnar rows handed from ingest to the writer (one ``Batch`` per request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """What one batch says about its device: identity attributes and clock skew."""

    device_id: str
    fleet: str | None
    model_name: str | None
    model_version: str | None
    hardware: str | None
    runtime: str | None
    host_arch: str | None
    os_type: str | None
    service_name: str | None
    power_sources: str | None
    attributes_json: str
    clock_skew_s: float | None


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """A metric's kind, unit and description as first seen."""

    metric: str
    kind: str
    unit: str
    description: str


@dataclass(slots=True)
class NumericRows:
    """Gauge and sum points as columns; ``kind`` is gauge, delta or cumulative."""

    device_id: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    start_us: list[int | None] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)


@dataclass(slots=True)
class ExpHistogramRows:
    """Exponential-histogram points as columns (OTLP field for field)."""

    device_id: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    start_us: list[int | None] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    temporality: list[str] = field(default_factory=list)
    scale: list[int] = field(default_factory=list)
    zero_count: list[int] = field(default_factory=list)
    pos_offset: list[int] = field(default_factory=list)
    pos_counts: list[list[int]] = field(default_factory=list)
    neg_offset: list[int] = field(default_factory=list)
    neg_counts: list[list[int]] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum: list[float | None] = field(default_factory=list)  # None: left out, unknown
    min: list[float | None] = field(default_factory=list)
    max: list[float | None] = field(default_factory=list)


@dataclass(slots=True)
class HistogramRows:
    """Explicit-bucket histogram points as columns."""

    device_id: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    start_us: list[int | None] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    temporality: list[str] = field(default_factory=list)
    bounds: list[list[float]] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum: list[float | None] = field(default_factory=list)
    min: list[float | None] = field(default_factory=list)
    max: list[float | None] = field(default_factory=list)


@dataclass(slots=True)
class SampleRows:
    """Sampled rows (OTLP log records with ``event.name`` = ``edgewatch.sample``) as columns."""

    device_id: list[str] = field(default_factory=list)
    model_name: list[str | None] = field(default_factory=list)
    model_version: list[str | None] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    features_json: list[str] = field(default_factory=list)
    prediction: list[str | None] = field(default_factory=list)
    score: list[float | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Batch:
    """Everything one ingest request stores, committed atomically or not at all.

    ``batch_key`` is the Idempotency-Key, scoped to ``key_device_id`` (the first resource's
    device); a batch whose key was committed before is acknowledged without storing again.
    """

    received_us: int
    devices: tuple[DeviceUpdate, ...]
    metrics: tuple[MetricInfo, ...]
    new_series: tuple[tuple[str, str, str], ...]
    numeric: NumericRows
    exp_histograms: ExpHistogramRows
    histograms: HistogramRows
    batch_key: str | None = None
    key_device_id: str | None = None
    samples: SampleRows = field(default_factory=SampleRows)
    metric_kinds: frozenset[tuple[str, str, str, str]] = frozenset()
    """(device, metric, rows, label) of every metric message with accepted points: ``rows`` is
    numeric, exp or hist; ``label`` the numeric kind or the histogram's temporality. OTLP
    fixes kind and temporality per metric message, so the writer learns the kinds of a
    batch's series from these few entries instead of from every point."""

    @property
    def point_count(self) -> int:
        """Data points (and sampled rows) in the batch."""
        return (
            len(self.numeric.ts_us)
            + len(self.exp_histograms.ts_us)
            + len(self.histograms.ts_us)
            + len(self.samples.ts_us)
        )


class WriteOutcome(Enum):
    """How the writer dealt with a batch."""

    STORED = "stored"
    DUPLICATE = "duplicate"
