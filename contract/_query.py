"""Bodies of the query and admin API: devices, series, distributions, the fleet summary,
prediction classes, tokens and sampling budgets. Times are aware ``datetime`` (``Timestamp``
, RFC 3339 on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
)

from edgewatch.contract._numbers import INT64_MAX, JSON_NUMBER
from edgewatch.contract._time import Timestamp

Resolution = Literal["raw", "1m", "1h"]
DeviceStatus = Literal["online", "stale", "offline"]
DEVICE_STATUSES: tuple[DeviceStatus, ...] = ("online", "stale", "offline")


SeriesPoint = Annotated[
    tuple[Timestamp, float],
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "anyOf": [
                    {"type": "string", "format": "date-time", "description": "RFC 3339"},
                    {"type": "number"},
                ]
            },
        }
    ),
]
"""``[bucket start, value]``. Its schema names the pair's item types without ``prefixItems``:
schemathesis (4.32) cannot check an answer against a ``prefixItems`` schema (it rewrites it
to the draft-4 ``items`` list, which OpenAPI 3.1 refuses)."""


class _Out(BaseModel):
    """An answer: frozen once read."""

    model_config = ConfigDict(frozen=True)


class DeviceOut(_Out):
    """One device of the registry, with the OpenTelemetry resource attributes it sent."""

    device_id: str
    fleet: str | None
    model_name: str | None
    model_version: str | None
    hardware: str | None
    runtime: str | None
    host_arch: str | None
    os_type: str | None
    service_name: str | None
    power_sources: list[str] | None = Field(
        description="power sources found; [] when none, null when the device never said"
    )
    attributes: dict[str, Any]
    first_seen: Timestamp
    last_seen: Timestamp
    last_batch_key: str | None
    clock_skew_s: float | None = Field(
        description="newest point time of the last batch minus its receive time"
    )
    status: DeviceStatus


class DeviceList(_Out):
    devices: list[DeviceOut]
    count: int


class ReadingOut(_Out):
    """The newest value of one gauge series of a device."""

    metric: str
    attributes: dict[str, Any]
    value: float
    time: Timestamp


class DroppedOut(_Out):
    """What the device lost so far, as its collector counts it (durably, across restarts)."""

    inferences: dict[str, int] = Field(description="inferences lost on the device, by reason")
    batches: dict[str, int] = Field(description="spooled batches lost on the device, by reason")
    inferences_total: int
    batches_total: int
    last_drop_at: Timestamp | None = Field(description="the last loss")
    reported_at: Timestamp = Field(
        description="point time (device clock) of the last batch received that carried these totals"
    )


class DeviceDetail(DeviceOut):
    """A device with the newest value of every gauge it sent and what it lost."""

    readings: list[ReadingOut]
    dropped: DroppedOut | None = Field(
        default=None, description="losses the device reported; null when it never reported one"
    )

    def reading(self, metric: str) -> ReadingOut | None:
        """The newest reading of ``metric`` (any attributes), if the device sent one."""
        found = [r for r in self.readings if r.metric == metric]
        return max(found, key=lambda r: r.time) if found else None


class SeriesOut(_Out):
    """One metric over time: bucket starts and values (empty buckets are absent)."""

    metric: str
    kind: str
    agg: str
    resolution: Resolution
    step_s: float
    points: list[SeriesPoint] = Field(description="[bucket start (RFC 3339), value]")
    left_out_devices: list[str] = Field(
        default_factory=list,
        description="devices of a several-device selection that send this metric as another"
        " kind than the answer reads (a gauge beside histograms, say); their series of that"
        " kind are left out: quantiles read the histograms, other aggregations the numeric"
        " points",
    )

    @property
    def times(self) -> tuple[datetime, ...]:
        """Bucket starts, in order."""
        return tuple(t for t, _ in self.points)

    @property
    def values(self) -> tuple[float, ...]:
        """Bucket values, in the order of :attr:`times`."""
        return tuple(v for _, v in self.points)


class BucketsOut(_Out):
    """One side of an exponential histogram: counts of buckets ``offset``, ``offset + 1``, ..."""

    offset: int
    bucket_counts: list[int]


class HistogramOut(_Out):
    """An OTLP exponential histogram (``ExponentialHistogramDataPoint``'s fields)."""

    scale: int
    zero_count: int
    positive: BucketsOut
    negative: BucketsOut
    count: int
    sum: float | None
    min: float | None
    max: float | None

    def buckets(self) -> list[tuple[float, float, int]]:
        """(lower bound, upper bound, count) of every non-empty bucket, ascending."""
        base = 2.0 ** (2.0**-self.scale)
        out: list[tuple[float, float, int]] = []
        neg = self.negative
        for k in range(len(neg.bucket_counts) - 1, -1, -1):
            c = neg.bucket_counts[k]
            if c:
                i = neg.offset + k
                out.append((-(base ** (i + 1)), -(base**i), c))
        if self.zero_count:
            out.append((0.0, 0.0, self.zero_count))
        for k, c in enumerate(self.positive.bucket_counts):
            if c:
                i = self.positive.offset + k
                out.append((base**i, base ** (i + 1), c))
        return out


class ExplicitHistogramOut(_Out):
    """One explicit-bucket histogram: ``len(bucket_counts) == len(explicit_bounds) + 1``."""

    explicit_bounds: list[float]
    bucket_counts: list[int]


class DistributionOut(_Out):
    """A histogram merged over a window and selection, with its quantiles."""

    metric: str
    resolution: Resolution
    start: Timestamp
    end: Timestamp
    devices: int
    count: int
    mean: float | None
    quantiles: dict[str, float | None]
    histogram: HistogramOut = Field(description="OTLP exponential histogram fields")
    explicit_histograms: list[ExplicitHistogramOut] = Field(
        default_factory=list,
        description="explicit-bucket histograms of the selection, one per bound set;"
        " count, mean and quantiles cover both kinds",
    )
    left_out_devices: list[str] = Field(
        default_factory=list,
        description="devices of a several-device selection that also send this metric as a"
        " gauge or counter; those series are left out of the histogram",
    )


class VersionSummaryOut(_Out):
    """Fleet summary row of one model name and version."""

    model_name: str | None
    model_version: str | None
    devices: int
    online: int
    stale: int
    offline: int
    inferences: int
    inference_rate_per_s: float
    error_rate: float | None
    latency_s: dict[str, float | None]

    @property
    def label(self) -> str:
        """``model version`` as people write it."""
        return f"{self.model_name or '(no model)'} {self.model_version or '(no version)'}"


class FleetSummaryOut(_Out):
    """Devices per model version over a window."""

    start: Timestamp
    end: Timestamp
    resolution: Resolution
    devices: int
    online: int
    versions: list[VersionSummaryOut]


class ClassCountOut(_Out):
    label: str = Field(description="the value of ml.prediction.class")
    count: int = Field(description="predictions of this class in the window")


class PredictionClassesOut(_Out):
    """Predictions per class label over a window."""

    start: Timestamp
    end: Timestamp
    total: int = Field(description="predictions of any class in the window")
    classes: list[ClassCountOut] = Field(
        description="every class label the selection ever reported, numeric labels in number "
        "order, the collector's overflow label __other__ last; count 0 when none in the window"
    )

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.classes)

    def shares(self, labels: tuple[str, ...]) -> list[float]:
        """Each of ``labels``' share of all predictions (0 without predictions)."""
        counts = {c.label: c.count for c in self.classes}
        return [counts.get(c, 0) / self.total if self.total else 0.0 for c in labels]


class TokenOut(_Out):
    """A device or admin token as listed (never its secret)."""

    token_id: str
    role: Literal["admin", "device"]
    device_id: str | None
    name: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class TokenCreate(BaseModel):
    """A new token: a device token bound to ``device_id``, or an admin token."""

    role: Literal["admin", "device"] = "device"
    device_id: str | None = Field(None, min_length=1, max_length=256)
    name: str = Field("", max_length=200)


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret: shown once, stored only as a salted hash")


class SamplingOut(_Out):
    """The budget in force; ``null`` values mean "the device's own budget"."""

    enabled: bool
    rows_per_hour: int | None
    bytes_per_day: int | None
    expires_at: Timestamp | None = Field(
        None,
        description="when a temporary raise ends (the device then returns to its own budget)",
    )
    expires_at_unix: float | None = Field(
        None,
        deprecated=True,
        description="deprecated, removed in the next release: expires_at as unix seconds, "
        "for collectors that predate expires_at",
    )
    reason: str | None


class DeviceConfigOut(_Out):
    """What a device's collector polls."""

    device_id: str
    sampling: SamplingOut
    poll_interval_s: float


class SamplingIn(BaseModel):
    """A lasting budget, or with ``for_s`` a temporary raise of ``rows_per_hour``."""

    enabled: StrictBool = True
    rows_per_hour: Annotated[int, Field(ge=0, le=INT64_MAX), JSON_NUMBER] | None = None
    bytes_per_day: Annotated[int, Field(ge=0, le=INT64_MAX), JSON_NUMBER] | None = None
    for_s: (
        Annotated[float, Field(gt=0, le=30 * 86_400, allow_inf_nan=False), JSON_NUMBER] | None
    ) = None
    reason: str = Field("operator", max_length=500)


class HealthOut(_Out):
    status: str


class ReadyOut(_Out):
    status: str
    rule_time_scale: float | None = Field(
        None, description="how much faster than real time rules run (1: real time)"
    )
