"""HTTP response and request bodies of the query and admin API (pydantic, I/O edge only)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from edgewatch.collector import semconv
from edgewatch.detectors import to_dict
from edgewatch.server.store import (
    Device,
    DeviceDrops,
    Distribution,
    FleetSummary,
    NewToken,
    Reading,
    SeriesResult,
    TokenInfo,
)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


class DeviceOut(BaseModel):
    device_id: str
    fleet: str | None
    model_name: str | None
    model_version: str | None
    hardware: str | None
    runtime: str | None
    host_arch: str | None
    os_type: str | None
    service_name: str | None
    power_sources: list[str] | None = Field(description="power sources found; [] when none")
    attributes: dict[str, Any]
    first_seen: float = Field(description="unix seconds")
    last_seen: float = Field(description="unix seconds")
    last_batch_key: str | None
    clock_skew_s: float | None = Field(
        description="newest point time of the last batch minus its receive time"
    )
    status: Literal["online", "stale", "offline"]

    @classmethod
    def of(cls, d: Device) -> DeviceOut:
        sources = None
        if d.power_sources is not None:
            sources = [s for s in d.power_sources.split(",") if s and s != "none"]
        return cls(
            device_id=d.device_id,
            fleet=d.fleet,
            model_name=d.model_name,
            model_version=d.model_version,
            hardware=d.hardware,
            runtime=d.runtime,
            host_arch=d.host_arch,
            os_type=d.os_type,
            service_name=d.service_name,
            power_sources=sources,
            attributes=d.attributes,
            first_seen=d.first_seen_s,
            last_seen=d.last_seen_s,
            last_batch_key=d.last_batch_key,
            clock_skew_s=d.clock_skew_s,
            status=d.status.value,
        )


class DeviceList(BaseModel):
    devices: list[DeviceOut]
    count: int


class ReadingOut(BaseModel):
    metric: str
    attributes: dict[str, Any]
    value: float
    time: float

    @classmethod
    def of(cls, r: Reading) -> ReadingOut:
        return cls(metric=r.metric, attributes=r.attributes, value=r.value, time=r.time_s)


class DroppedOut(BaseModel):
    """What the device lost so far, as its collector counts it (durably, across restarts)."""

    inferences: dict[str, int] = Field(description="inferences lost on the device, by reason")
    batches: dict[str, int] = Field(description="spooled batches lost on the device, by reason")
    inferences_total: int
    batches_total: int
    last_drop_at: float | None = Field(description="unix seconds of the last loss")
    reported_at: float = Field(
        description="point time (device clock) of the last batch received that carried these totals"
    )

    @classmethod
    def of(cls, d: DeviceDrops) -> DroppedOut:
        return cls(
            inferences=d.inferences,
            batches=d.batches,
            inferences_total=sum(d.inferences.values()),
            batches_total=sum(d.batches.values()),
            last_drop_at=d.last_drop_s,
            reported_at=d.reported_s,
        )


class DeviceDetail(DeviceOut):
    readings: list[ReadingOut]
    dropped: DroppedOut | None = Field(
        default=None, description="losses the device reported; null when it never reported one"
    )


class SeriesOut(BaseModel):
    metric: str
    kind: str
    agg: str
    resolution: Literal["raw", "1m", "1h"]
    step_s: float
    points: list[tuple[float, float]] = Field(description="[bucket start (unix s), value]")

    @classmethod
    def of(cls, s: SeriesResult) -> SeriesOut:
        return cls(
            metric=s.metric,
            kind=s.kind,
            agg=s.agg,
            resolution=s.resolution.value,
            step_s=s.step_s,
            points=list(zip(s.times_s, s.values, strict=True)),
        )


class DistributionOut(BaseModel):
    metric: str
    resolution: Literal["raw", "1m", "1h"]
    start: float
    end: float
    devices: int
    count: int
    mean: float | None
    quantiles: dict[str, float | None]
    histogram: dict[str, Any] = Field(description="OTLP exponential histogram fields")
    explicit_histograms: list[dict[str, Any]] = Field(
        default_factory=list,
        description="explicit-bucket histograms of the selection, one per bound set"
        " ({explicit_bounds, bucket_counts}); count, mean and quantiles cover both kinds",
    )

    @classmethod
    def of(cls, d: Distribution) -> DistributionOut:
        parts = d.explicit.parts if d.explicit is not None else ()
        return cls(
            metric=d.metric,
            resolution=d.resolution.value,
            start=d.start_s,
            end=d.end_s,
            devices=d.devices,
            count=d.count,
            mean=_finite(d.mean),
            quantiles={k: _finite(v) for k, v in d.quantiles.items()},
            histogram=to_dict(d.histogram),
            explicit_histograms=[
                {"explicit_bounds": list(bounds), "bucket_counts": list(counts)}
                for bounds, counts in parts
            ],
        )


class VersionSummaryOut(BaseModel):
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


class FleetSummaryOut(BaseModel):
    start: float
    end: float
    resolution: Literal["raw", "1m", "1h"]
    devices: int
    online: int
    versions: list[VersionSummaryOut]

    @classmethod
    def of(cls, f: FleetSummary) -> FleetSummaryOut:
        return cls(
            start=f.start_s,
            end=f.end_s,
            resolution=f.resolution.value,
            devices=f.devices,
            online=f.online,
            versions=[
                VersionSummaryOut(
                    model_name=v.model_name,
                    model_version=v.model_version,
                    devices=v.devices,
                    online=v.online,
                    stale=v.stale,
                    offline=v.offline,
                    inferences=v.inferences,
                    inference_rate_per_s=v.inference_rate_per_s,
                    error_rate=v.error_rate,
                    latency_s={k: _finite(x) for k, x in v.latency_s.items()},
                )
                for v in f.versions
            ],
        )


class TokenOut(BaseModel):
    token_id: str
    role: Literal["admin", "device"]
    device_id: str | None
    name: str
    created_at: float
    revoked_at: float | None

    @classmethod
    def of(cls, t: TokenInfo) -> TokenOut:
        return cls(
            token_id=t.token_id,
            role=t.role,
            device_id=t.device_id,
            name=t.name,
            created_at=t.created_at_s,
            revoked_at=t.revoked_at_s,
        )


class TokenCreate(BaseModel):
    role: Literal["admin", "device"] = "device"
    device_id: str | None = Field(None, min_length=1, max_length=256)
    name: str = Field("", max_length=200)


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret: shown once, stored only as a salted hash")

    @classmethod
    def of_new(cls, t: NewToken) -> NewTokenOut:
        return cls(**TokenOut.of(t.info).model_dump(), token=t.token)


class ClassCountOut(BaseModel):
    label: str = Field(description="the value of ml.prediction.class")
    count: int = Field(description="predictions of this class in the window")


class PredictionClassesOut(BaseModel):
    start: float
    end: float
    total: int = Field(description="predictions of any class in the window")
    classes: list[ClassCountOut] = Field(
        description="every class label the selection ever reported, numeric labels in number "
        "order, the collector's overflow label __other__ last; count 0 when none in the window"
    )

    @classmethod
    def of(
        cls, start_s: float, end_s: float, labels: list[str], counts: dict[str, int]
    ) -> PredictionClassesOut:
        def order(label: str) -> tuple[bool, bool, int, str]:
            numeric = label.lstrip("-").isdigit()
            return (
                label == semconv.OTHER_CATEGORY,
                not numeric,
                int(label) if numeric else 0,
                label,
            )

        known = sorted({*labels, *counts}, key=order)
        return cls(
            start=start_s,
            end=end_s,
            total=sum(counts.values()),
            classes=[ClassCountOut(label=c, count=counts.get(c, 0)) for c in known],
        )
