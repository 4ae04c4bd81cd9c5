"""Values of the query API (devices, series, distributions, fleet summary, tokens) as frozen
dataclasses, each with the function that reads it from the server's JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edgewatch.contract import MalformedResponseError
from edgewatch.dashboard._parse import Obj

DEVICE_STATUSES = ("online", "stale", "offline")


@dataclass(frozen=True, slots=True)
class Device:
    """One device of the registry; ``power_sources`` is ``None`` when the device never said."""

    device_id: str
    fleet: str | None
    model_name: str | None
    model_version: str | None
    hardware: str | None
    runtime: str | None
    host_arch: str | None
    os_type: str | None
    power_sources: tuple[str, ...] | None
    attributes: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    clock_skew_s: float | None
    status: str


@dataclass(frozen=True, slots=True)
class Reading:
    """The newest value of one gauge series of a device."""

    metric: str
    attributes: dict[str, Any]
    value: float
    time: datetime


@dataclass(frozen=True, slots=True)
class Dropped:
    """What a device lost so far, as its collector counts it (durably, across restarts)."""

    inferences: dict[str, int]
    """Inferences lost on the device, by reason."""
    batches: dict[str, int]
    """Batches lost on the device, by reason."""
    last_drop_at: datetime | None
    reported_at: datetime
    """When the last batch received with these totals was cut (the device's clock)."""

    @property
    def inferences_total(self) -> int:
        return sum(self.inferences.values())

    @property
    def batches_total(self) -> int:
        return sum(self.batches.values())


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    """A device with the newest value of every gauge it sent and what it lost."""

    device: Device
    readings: tuple[Reading, ...]
    dropped: Dropped | None = None
    """``None``: the device never reported a loss (or its collector does not count them)."""

    def reading(self, metric: str) -> Reading | None:
        """The newest reading of ``metric`` (any attributes), if the device sent one."""
        found = [r for r in self.readings if r.metric == metric]
        return max(found, key=lambda r: r.time) if found else None


@dataclass(frozen=True, slots=True)
class Series:
    """One metric over time: bucket start times and values (empty buckets are absent)."""

    metric: str
    agg: str
    step_s: float
    times: tuple[datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Histogram:
    """An OTLP exponential histogram as the API sends it."""

    scale: int
    zero_count: int
    positive_offset: int
    positive_counts: tuple[int, ...]
    negative_offset: int
    negative_counts: tuple[int, ...]
    count: int

    def buckets(self) -> list[tuple[float, float, int]]:
        """(lower bound, upper bound, count) of every non-empty bucket, ascending."""
        base = 2.0 ** (2.0**-self.scale)
        out: list[tuple[float, float, int]] = []
        for k in range(len(self.negative_counts) - 1, -1, -1):
            c = self.negative_counts[k]
            if c:
                i = self.negative_offset + k
                out.append((-(base ** (i + 1)), -(base**i), c))
        if self.zero_count:
            out.append((0.0, 0.0, self.zero_count))
        for k, c in enumerate(self.positive_counts):
            if c:
                i = self.positive_offset + k
                out.append((base**i, base ** (i + 1), c))
        return out


@dataclass(frozen=True, slots=True)
class Distribution:
    """A histogram merged over a window and selection, with p50/p95/p99."""

    metric: str
    devices: int
    count: int
    mean: float | None
    quantiles: dict[str, float | None]
    histogram: Histogram


@dataclass(frozen=True, slots=True)
class VersionSummary:
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


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """Devices per model version over a window."""

    start: datetime
    end: datetime
    devices: int
    online: int
    versions: tuple[VersionSummary, ...]


@dataclass(frozen=True, slots=True)
class ClassCounts:
    """Predictions per class label over a window: every label the selection ever reported, in
    the server's order, with 0 for a label not predicted in the window."""

    counts: tuple[tuple[str, int], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.counts)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    def shares(self, labels: tuple[str, ...]) -> list[float]:
        """Each of ``labels``' share of all predictions (0 without predictions)."""
        counts = dict(self.counts)
        return [counts.get(c, 0) / self.total if self.total else 0.0 for c in labels]


@dataclass(frozen=True, slots=True)
class Token:
    """A device or admin token as listed (never its secret)."""

    token_id: str
    role: str
    device_id: str | None
    name: str
    created_at: datetime
    revoked: bool


def device_of(o: Obj) -> Device:
    return Device(
        device_id=o.text("device_id"),
        fleet=o.opt_text("fleet"),
        model_name=o.opt_text("model_name"),
        model_version=o.opt_text("model_version"),
        hardware=o.opt_text("hardware"),
        runtime=o.opt_text("runtime"),
        host_arch=o.opt_text("host_arch"),
        os_type=o.opt_text("os_type"),
        power_sources=o.opt_texts("power_sources"),
        attributes=o.mapping("attributes"),
        first_seen=o.unix_time("first_seen"),
        last_seen=o.unix_time("last_seen"),
        clock_skew_s=o.opt_number("clock_skew_s"),
        status=o.choice("status", DEVICE_STATUSES),
    )


def device_detail_of(o: Obj) -> DeviceDetail:
    readings = tuple(
        Reading(
            metric=r.text("metric"),
            attributes=r.mapping("attributes"),
            value=r.number("value"),
            time=r.unix_time("time"),
        )
        for r in o.objs("readings")
    )
    dropped = o.opt_obj("dropped")
    return DeviceDetail(device_of(o), readings, None if dropped is None else dropped_of(dropped))


def dropped_of(o: Obj) -> Dropped:
    def counts(key: str) -> dict[str, int]:
        by_reason = o.obj(key)
        return {reason: by_reason.integer(reason) for reason in o.mapping(key)}

    last = o.opt_number("last_drop_at")
    return Dropped(
        inferences=counts("inferences"),
        batches=counts("batches"),
        last_drop_at=None if last is None else datetime.fromtimestamp(last, UTC),
        reported_at=o.unix_time("reported_at"),
    )


def series_of(o: Obj) -> Series:
    times: list[datetime] = []
    values: list[float] = []
    for i, point in enumerate(o.items("points")):
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in point)
        ):
            raise MalformedResponseError(f"series.points[{i}]: expected [time, value]")
        if math.isfinite(point[1]):
            times.append(datetime.fromtimestamp(point[0], UTC))
            values.append(float(point[1]))
    return Series(
        metric=o.text("metric"),
        agg=o.text("agg"),
        step_s=o.number("step_s"),
        times=tuple(times),
        values=tuple(values),
    )


def _counts(o: Obj, key: str) -> tuple[int, ...]:
    return tuple(int(c) for c in o.items(key))


def distribution_of(o: Obj) -> Distribution:
    h = o.obj("histogram")
    pos, neg = h.obj("positive"), h.obj("negative")
    quantiles = o.obj("quantiles")
    return Distribution(
        metric=o.text("metric"),
        devices=o.integer("devices"),
        count=o.integer("count"),
        mean=o.opt_number("mean"),
        quantiles={k: quantiles.opt_number(k) for k in ("p50", "p95", "p99")},
        histogram=Histogram(
            scale=h.integer("scale"),
            zero_count=h.integer("zero_count"),
            positive_offset=pos.integer("offset"),
            positive_counts=_counts(pos, "bucket_counts"),
            negative_offset=neg.integer("offset"),
            negative_counts=_counts(neg, "bucket_counts"),
            count=h.integer("count"),
        ),
    )


def fleet_summary_of(o: Obj) -> FleetSummary:
    versions = []
    for v in o.objs("versions"):
        latency = v.obj("latency_s")
        versions.append(
            VersionSummary(
                model_name=v.opt_text("model_name"),
                model_version=v.opt_text("model_version"),
                devices=v.integer("devices"),
                online=v.integer("online"),
                stale=v.integer("stale"),
                offline=v.integer("offline"),
                inferences=v.integer("inferences"),
                inference_rate_per_s=v.number("inference_rate_per_s"),
                error_rate=v.opt_number("error_rate"),
                latency_s={k: latency.opt_number(k) for k in ("p50", "p95", "p99")},
            )
        )
    return FleetSummary(
        start=o.unix_time("start"),
        end=o.unix_time("end"),
        devices=o.integer("devices"),
        online=o.integer("online"),
        versions=tuple(versions),
    )


def class_counts_of(o: Obj) -> ClassCounts:
    return ClassCounts(tuple((c.text("label"), c.integer("count")) for c in o.objs("classes")))


def token_of(o: Obj) -> Token:
    return Token(
        token_id=o.text("token_id"),
        role=o.text("role"),
        device_id=o.opt_text("device_id"),
        name=o.text("name"),
        created_at=o.unix_time("created_at"),
        revoked=o.opt_number("revoked_at") is not None,
    )
