"""``/api/v1/reports/drift``: an Evidently HTML report of sampled rows vs the reference sample."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from edgewatch.server.api.deps import AdminDep, DayWindowDep, SettingsDep, StoreDep
from edgewatch.server.evidence import NotEnoughRowsError, ReportRequest, build_drift_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
ROWS_HEADERS = ("X-Edgewatch-Reference-Rows", "X-Edgewatch-Current-Rows")


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
    window: DayWindowDep,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str, Query(min_length=1)],
    device: Annotated[str | None, Query(min_length=1)] = None,
) -> Response:
    """Rows per side are capped at ``report_max_rows``; headers say how many each side had."""
    request = ReportRequest(model, version, device, window.start, window.end)
    limit = settings.report_max_rows
    reference = store.samples.reference(model, version, limit=limit)
    current = store.samples.current(
        model_name=model,
        model_version=version,
        device_id=device,
        start=window.start,
        end=window.end,
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
