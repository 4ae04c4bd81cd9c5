"""Pure computations over API values that the pages show: where a device was silent, and
which features drifted most. Kept apart from the pages so they are tested directly."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pandas as pd

from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import DriftRowOut as DriftResult
from edgewatch.contract import SeriesOut as Series
from edgewatch.contract import VersionAccuracyOut as VersionAccuracy
from edgewatch.contract import VersionCompareOut as VersionComparison
from edgewatch.dashboard import _format as fmt

# A device that sends nothing for this long (or 3 steps, whichever is longer) was offline;
# the server's default for "stale" is the same 180 s.
OFFLINE_AFTER_S = 180.0


def offline_gaps(
    series: list[Series], *, start: datetime, end: datetime, step_s: float, device: Device
) -> list[tuple[datetime, datetime]]:
    """Spans without any data from the device, longer than the offline threshold."""
    limit = timedelta(seconds=max(OFFLINE_AFTER_S, 3 * step_s))
    times = sorted({t for s in series for t in s.times})
    gaps: list[tuple[datetime, datetime]] = []
    if times and device.first_seen < start and times[0] - start > limit:
        gaps.append((start, times[0]))
    for a, b in pairwise(times):
        if b - a > limit:
            gaps.append((a + timedelta(seconds=step_s), b))
    last = max([*times, device.last_seen]) if times else device.last_seen
    if device.status != "online" and end - last > limit:
        gaps.append((max(last, start), end))
    return gaps


def reporting_s(devices: list[Device], *, start: datetime, end: datetime) -> float:
    """How long within ``[start, end]`` the devices have been reporting: the whole window, or
    less when the first of them appeared inside it, so a rate over a fleet that started five
    minutes ago is not diluted by the 55 minutes before. At least one minute (the collector's
    default export interval), so a first export does not read as a burst."""
    first = min((d.first_seen for d in devices), default=start)
    return max((end - max(start, first)).total_seconds(), 60.0)


def latest_per_feature(results: list[DriftResult]) -> list[DriftResult]:
    """The newest result of each feature per scope (model version, device), most drifted
    first: score relative to its threshold, so PSI, KS and Jensen–Shannon rank together."""
    newest: dict[tuple[str, str, str | None, str | None, str | None], DriftResult] = {}
    for r in results:
        key = (r.subject, r.scope, r.device, r.model, r.version)
        if key not in newest or r.window_end > newest[key].window_end:
            newest[key] = r

    def severity(r: DriftResult) -> float:
        if r.score is None:
            return float("-inf")
        return r.score / r.threshold if r.threshold else r.score

    return sorted(newest.values(), key=severity, reverse=True)


def _interval(x: float | None, low: float | None, high: float | None) -> str:
    """An accuracy with its 95 % interval, or "—" without one."""
    if x is None:
        return "—"
    if low is None or high is None:
        return fmt.percent(x, 1)
    return f"{fmt.percent(x, 1)} ({fmt.percent(low, 1)}–{fmt.percent(high, 1)})"


def accuracy_rows(comparison: VersionComparison, a: str, b: str) -> pd.DataFrame | None:
    """Realized and estimated accuracy of both versions side by side; None when neither
    version has labels or a calibrated estimate in the window."""
    sides: dict[str, VersionAccuracy] = {
        name: comparison.accuracy[key]
        for key, name in (("a", a), ("b", b))
        if key in comparison.accuracy
    }
    if not any(x.realized is not None or x.estimated is not None for x in sides.values()):
        return None
    return pd.DataFrame(
        {
            "version": list(sides),
            "realized (late labels)": [
                _interval(x.realized, x.realized_low, x.realized_high) for x in sides.values()
            ],
            "labelled": [f"{x.labelled:,}" for x in sides.values()],
            "estimated (from scores)": [
                _interval(x.estimated, x.estimated_low, x.estimated_high)
                + ("" if x.estimate_reliable is not False else " — unreliable: inputs drifted")
                for x in sides.values()
            ],
        }
    )
