"""Values the store returns: frozen dataclasses shared by the REST API, scheduler and dashboard API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from edgewatch.detectors import ExpHistogram
from edgewatch.server.store._explicit import ExplicitHistogram


class DeviceStatus(Enum):
    """Liveness by last seen: online, stale (missed a few intervals) or offline."""

    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


class Resolution(Enum):
    """Which table a query read: raw points or a rollup."""

    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"


@dataclass(frozen=True, slots=True)
class StatusThresholds:
    """A device is online when seen within ``online_s``, stale within ``offline_s``, else offline."""

    online_s: float = 180.0
    offline_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Selection:
    """Which devices a query covers; unset fields match everything."""

    device_id: str | None = None
    fleet: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    hardware: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """One device of the registry."""

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
    attributes: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    last_batch_key: str | None
    clock_skew_s: float | None
    status: DeviceStatus


@dataclass(frozen=True, slots=True)
class Reading:
    """The latest value of one gauge series of a device."""

    metric: str
    attributes: dict[str, Any]
    value: float
    time: datetime


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """One metric over a selection, bucketed by ``step_s`` seconds between ``start`` and ``end``.

    ``agg`` combines every point of a bucket: avg, sum, min, max, count, or rate (sum per
    second); ``None`` picks sum for delta counters and avg otherwise.
    """

    metric: str
    start: datetime
    end: datetime
    step_s: float
    selection: Selection = field(default_factory=Selection)
    attributes: tuple[tuple[str, str], ...] = ()
    agg: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """Bucket start times and values; a bucket without data is absent."""

    metric: str
    kind: str
    agg: str
    resolution: Resolution
    step_s: float
    times: tuple[datetime, ...]
    values: tuple[float, ...]
    left_out_devices: tuple[str, ...] = ()
    """Devices of the selection whose series of another kind the answer leaves out
    (``_series_kinds.answer_kinds``)."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """Merged histograms over a window and selection, with quantiles over both kinds."""

    metric: str
    resolution: Resolution
    start: datetime
    end: datetime
    devices: int
    histogram: ExpHistogram
    quantiles: dict[str, float]
    explicit: ExplicitHistogram | None = None
    """Explicit-bucket histograms of the selection, merged per bound set (None when none)."""
    left_out_devices: tuple[str, ...] = ()
    """Devices of the selection that also send the metric as a numeric kind, left out."""

    @property
    def count(self) -> int:
        """Values in both parts."""
        return self.histogram.count + (self.explicit.count if self.explicit else 0)

    @property
    def mean(self) -> float:
        """Mean of the values in both parts (NaN when empty)."""
        total = self.histogram.sum if self.histogram.count else 0.0
        if self.explicit is not None:
            total += self.explicit.sum
        return total / self.count if self.count else float("nan")


@dataclass(frozen=True, slots=True)
class ModelVersionSummary:
    """Fleet summary row for one model name and version."""

    model_name: str | None
    model_version: str | None
    devices: int
    online: int
    stale: int
    offline: int
    inferences: int
    inference_rate_per_s: float
    error_rate: float | None
    latency_s: dict[str, float]


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """Devices per model version with inference rate, error rate and latency quantiles."""

    start: datetime
    end: datetime
    resolution: Resolution
    devices: int
    online: int
    versions: tuple[ModelVersionSummary, ...]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its secret."""

    token_id: str
    role: str
    device_id: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token; ``token`` is shown once and stored only as a salted hash."""

    info: TokenInfo
    token: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token belongs to."""

    role: str
    device_id: str | None
    token_id: str
