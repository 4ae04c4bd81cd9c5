"""The query and admin API's answers built from the store's values; the bodies themselves
are ``edgewatch.contract``'s, shared with the dashboard and the CLI."""

from __future__ import annotations

import math
from datetime import datetime

from edgewatch.collector import semconv
from edgewatch.contract import (
    BucketsOut,
    ClassCountOut,
    DeviceDetail,
    DeviceOut,
    DistributionOut,
    DroppedOut,
    ExplicitHistogramOut,
    FleetSummaryOut,
    HistogramOut,
    NewTokenOut,
    PredictionClassesOut,
    ReadingOut,
    SeriesOut,
    TokenOut,
    VersionSummaryOut,
)
from edgewatch.detectors import ExpHistogram
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


def device_out(d: Device) -> DeviceOut:
    """A registry entry; ``power_sources`` split, ``none`` meaning an empty list."""
    sources = None
    if d.power_sources is not None:
        sources = [s for s in d.power_sources.split(",") if s and s != "none"]
    return DeviceOut(
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
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        last_batch_key=d.last_batch_key,
        clock_skew_s=d.clock_skew_s,
        status=d.status.value,
    )


def reading_out(r: Reading) -> ReadingOut:
    return ReadingOut(metric=r.metric, attributes=r.attributes, value=r.value, time=r.time)


def dropped_out(d: DeviceDrops) -> DroppedOut:
    return DroppedOut(
        inferences=d.inferences,
        batches=d.batches,
        inferences_total=sum(d.inferences.values()),
        batches_total=sum(d.batches.values()),
        last_drop_at=d.last_drop,
        reported_at=d.reported,
    )


def device_detail(d: Device, readings: list[Reading], drops: DeviceDrops | None) -> DeviceDetail:
    """A device with its newest readings and what it lost."""
    return DeviceDetail(
        **dict(device_out(d)),
        readings=[reading_out(r) for r in readings],
        dropped=None if drops is None else dropped_out(drops),
    )


def series_out(s: SeriesResult) -> SeriesOut:
    return SeriesOut(
        metric=s.metric,
        kind=s.kind,
        agg=s.agg,
        resolution=s.resolution.value,
        step_s=s.step_s,
        points=list(zip(s.times, s.values, strict=True)),
        left_out_devices=list(s.left_out_devices),
    )


def histogram_out(h: ExpHistogram) -> HistogramOut:
    """An exponential histogram's OTLP fields (``null`` for an unknown sum, min or max)."""
    return HistogramOut(
        scale=h.scale,
        zero_count=h.zero_count,
        positive=BucketsOut(offset=h.positive_offset, bucket_counts=h.positive_counts.tolist()),
        negative=BucketsOut(offset=h.negative_offset, bucket_counts=h.negative_counts.tolist()),
        count=h.count,
        sum=_finite(h.sum),
        min=_finite(h.min),
        max=_finite(h.max),
    )


def distribution_out(d: Distribution) -> DistributionOut:
    parts = d.explicit.parts if d.explicit is not None else ()
    return DistributionOut(
        metric=d.metric,
        resolution=d.resolution.value,
        start=d.start,
        end=d.end,
        devices=d.devices,
        count=d.count,
        mean=_finite(d.mean),
        quantiles={k: _finite(v) for k, v in d.quantiles.items()},
        histogram=histogram_out(d.histogram),
        explicit_histograms=[
            ExplicitHistogramOut(explicit_bounds=list(bounds), bucket_counts=list(counts))
            for bounds, counts in parts
        ],
        left_out_devices=list(d.left_out_devices),
    )


def fleet_summary_out(f: FleetSummary) -> FleetSummaryOut:
    return FleetSummaryOut(
        start=f.start,
        end=f.end,
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


def token_out(t: TokenInfo) -> TokenOut:
    return TokenOut(
        token_id=t.token_id,
        role=t.role,
        device_id=t.device_id,
        name=t.name,
        created_at=t.created_at,
        revoked_at=t.revoked_at,
    )


def new_token_out(t: NewToken) -> NewTokenOut:
    return NewTokenOut(**dict(token_out(t.info)), token=t.token)


def _class_order(label: str) -> tuple[bool, bool, int, str]:
    """Numeric labels in number order, others by text, the overflow label last."""
    numeric = label.lstrip("-").isdigit()
    return (label == semconv.OTHER_CATEGORY, not numeric, int(label) if numeric else 0, label)


def prediction_classes_out(
    start: datetime, end: datetime, labels: list[str], counts: dict[str, int]
) -> PredictionClassesOut:
    known = sorted({*labels, *counts}, key=_class_order)
    return PredictionClassesOut(
        start=start,
        end=end,
        total=sum(counts.values()),
        classes=[ClassCountOut(label=c, count=counts.get(c, 0)) for c in known],
    )
