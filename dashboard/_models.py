"""The query API's values as the dashboard reads them: the contract's models, plus the two
shapes that are the dashboard's own (a device with its readings, a series as times and
values for charts)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from edgewatch.contract import DEVICE_STATUSES, MalformedResponseError
from edgewatch.contract import DeviceDetail as DeviceDetailOut
from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import DistributionOut as Distribution
from edgewatch.contract import DroppedOut as Dropped
from edgewatch.contract import FleetSummaryOut as FleetSummary
from edgewatch.contract import HistogramOut as Histogram
from edgewatch.contract import PredictionClassesOut as ClassCounts
from edgewatch.contract import ReadingOut as Reading
from edgewatch.contract import TokenOut as Token
from edgewatch.contract import VersionSummaryOut as VersionSummary
from edgewatch.dashboard._parse import Obj

__all__ = [
    "DEVICE_STATUSES",
    "ClassCounts",
    "Device",
    "DeviceDetail",
    "Distribution",
    "Dropped",
    "FleetSummary",
    "Histogram",
    "Reading",
    "Series",
    "Token",
    "VersionSummary",
    "series_of",
]


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    """A device with the newest value of every gauge it sent and what it lost."""

    device: Device
    readings: tuple[Reading, ...]
    dropped: Dropped | None = None
    """``None``: the device never reported a loss (or its collector does not count them)."""

    @classmethod
    def of(cls, answer: DeviceDetailOut) -> DeviceDetail:
        fields = {k: v for k, v in answer if k in Device.model_fields}
        return cls(Device(**fields), tuple(answer.readings), answer.dropped)

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
