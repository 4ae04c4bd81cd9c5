"""``/api/v1/performance`` for the dashboard: the typed answer and the call that fetches it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edgewatch.contract import format_rfc3339
from edgewatch.dashboard._client import Client
from edgewatch.dashboard._parse import Obj

PATH = "/api/v1/performance"


@dataclass(frozen=True, slots=True)
class PerformanceRow:
    """Realized and estimated accuracy of one time bucket, device or version."""

    start: datetime
    end: datetime
    device_id: str | None
    model_version: str | None
    inferences: int
    labelled: int
    coverage: float | None
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    macro_f1: float | None
    mae: float | None
    rmse: float | None
    bias: float | None
    estimated: float | None
    estimated_low: float | None
    estimated_high: float | None
    reliable: bool | None


@dataclass(frozen=True, slots=True)
class Performance:
    """The Performance view of a selection and window."""

    task: str
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    total: PerformanceRow
    series: tuple[PerformanceRow, ...]
    devices: tuple[PerformanceRow, ...]
    versions: tuple[PerformanceRow, ...]
    calibrated_versions: tuple[str, ...]


def _row(o: Obj) -> PerformanceRow:
    realized = o.opt_obj("realized")
    estimated = o.opt_obj("estimated")

    def r(key: str) -> float | None:
        return realized.opt_number(key) if realized is not None else None

    def e(key: str) -> float | None:
        return estimated.opt_number(key) if estimated is not None else None

    return PerformanceRow(
        start=o.unix_time("start"),
        end=o.unix_time("end"),
        device_id=o.opt_text("device_id"),
        model_version=o.opt_text("model_version"),
        inferences=o.integer("inferences"),
        labelled=o.integer("labelled"),
        coverage=o.opt_number("coverage"),
        accuracy=r("accuracy"),
        accuracy_low=r("accuracy_low"),
        accuracy_high=r("accuracy_high"),
        macro_f1=r("macro_f1"),
        mae=r("mae"),
        rmse=r("rmse"),
        bias=r("bias"),
        estimated=e("accuracy"),
        estimated_low=e("low"),
        estimated_high=e("high"),
        reliable=estimated.flag("reliable") if estimated is not None else None,
    )


def performance_of(o: Obj) -> Performance:
    """Parse the answer (``MalformedResponseError`` naming the field when it does not fit)."""
    return Performance(
        task=o.text("task"),
        labels=o.texts("labels"),
        confusion=tuple(tuple(int(v) for v in row) for row in o.items("confusion")),
        total=_row(o.obj("total")),
        series=tuple(_row(x) for x in o.objs("series")),
        devices=tuple(_row(x) for x in o.objs("devices")),
        versions=tuple(_row(x) for x in o.objs("versions")),
        calibrated_versions=o.texts("calibrated_versions"),
    )


def fetch_performance(
    client: Client,
    start: datetime,
    end: datetime,
    *,
    step_s: float,
    model: str | None = None,
    version: str | None = None,
    fleet: str | None = None,
) -> Performance:
    """Realized and estimated performance of the selection over the window."""
    params = {
        "from": format_rfc3339(start),
        "to": format_rfc3339(end),
        "step": step_s,
        "model": model,
        "version": version,
        "fleet": fleet,
    }
    obj = client._get(PATH, {k: v for k, v in params.items() if v is not None})
    return client._parsed(f"GET {PATH}", performance_of, obj)
