"""``/api/v1/reports/drift``: an Evidently HTML report of sampled rows vs the reference sample."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from edgewatch.server.api.bounds import check_unix_s
from edgewatch.server.api.deps import AdminDep, SettingsDep, StoreDep
from edgewatch.server.evidence import NotEnoughRowsError, ReportRequest, build_drift_report
from edgewatch.server.store import InvalidQueryError

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
DEFAULT_WINDOW_S = 86_400.0
ROWS_HEADERS = ("X-Edgewatch-Reference-Rows", "X-Edgewatch-Current-Rows")


def parse_time(name: str, value: str | None, default: float) -> float:
    """Unix seconds or ISO 8601 (with a zone, or UTC) as unix seconds."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidQueryError(
                f"{name} must be unix seconds or ISO 8601, got {value!r}"
            ) from None
        seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    try:
        return check_unix_s(name, seconds)
    except ValueError as e:
        raise InvalidQueryError(str(e)) from None


def remedy(device: str | None) -> str:
    """How to get more rows: the budget (sampled rows) and the baseline (reference sample)."""
    who = f"--device {device}" if device else "--device <id>"
    return (
        "Devices send sampled rows only when their Monitor has sampling=SamplingConfig(...); "
        f"raise a device's budget with `edgewatch sampling raise {who} --rows-per-hour 600 "
        "--for 1h` (or PUT /api/v1/devices/{id}/sampling), widen from/to, and make sure a "
        "baseline was uploaded for this model version (its rows are the reference sample)."
    )


@router.get(
    "/drift",
    response_class=HTMLResponse,
    summary="Evidently drift + data summary report (HTML) of sampled rows vs the reference",
    responses={422: {"description": "too few rows on one side; the body says how to get more"}},
)
def drift_report(
    _: AdminDep,
    store: StoreDep,
    settings: SettingsDep,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str, Query(min_length=1)],
    device: Annotated[str | None, Query(min_length=1)] = None,
    from_: Annotated[str | None, Query(alias="from", description="unix s or ISO 8601")] = None,
    to: Annotated[str | None, Query(description="unix s or ISO 8601; default now")] = None,
) -> Response:
    """Rows per side are capped at ``report_max_rows``; headers say how many each side had."""
    end_s = parse_time("to", to, time.time())
    start_s = parse_time("from", from_, end_s - DEFAULT_WINDOW_S)
    if end_s <= start_s:
        raise InvalidQueryError(f"to ({end_s}) must be after from ({start_s})")
    request = ReportRequest(model, version, device, start_s, end_s)
    limit = settings.report_max_rows
    reference = store.samples.reference(model, version, limit=limit)
    current = store.samples.current(
        model_name=model,
        model_version=version,
        device_id=device,
        start_s=start_s,
        end_s=end_s,
        limit=limit,
    )
    try:
        report = build_drift_report(
            request, reference, current, min_rows=settings.report_min_rows, remedy=remedy(device)
        )
    except NotEnoughRowsError as e:
        return JSONResponse(
            {
                "detail": str(e),
                "needed_rows": e.needed,
                "reference_rows": e.reference_rows,
                "current_rows": e.current_rows,
                "how_to_get_more": e.remedy,
            },
            status_code=422,
        )
    return HTMLResponse(
        report.html,
        headers={
            ROWS_HEADERS[0]: str(report.reference_rows),
            ROWS_HEADERS[1]: str(report.current_rows),
            "X-Edgewatch-Reference-Total": str(report.reference_total),
            "X-Edgewatch-Current-Total": str(report.current_total),
        },
    )
