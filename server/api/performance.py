"""``/api/v1/performance``: is the model still right? Realized metrics from late labels and
accuracy estimated without labels, over time, per device and per version."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile

from edgewatch.contract import PerformanceOut, ProblemsOut
from edgewatch.server.api.bounds import MAX_SPAN_S
from edgewatch.server.api.deps import AdminDep, SelectionDep, SettingsDep, StoreDep, WindowDep
from edgewatch.server.api.performance_schemas import performance_out
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.api.uploads import read_upload
from edgewatch.server.detect._upload import read_table
from edgewatch.server.performance import (
    MAX_DRIFT_SHARE,
    evaluate_table,
    performance_report,
    version_calibration,
)

router = APIRouter(prefix="/api/v1", tags=["performance"], route_class=AdminFirstRoute)


@router.get(
    "/performance",
    response_model=PerformanceOut,
    summary="Realized and estimated model performance",
)
def performance(
    _: AdminDep,
    store: StoreDep,
    selection: SelectionDep,
    window: WindowDep,
    step: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_SPAN_S,
            allow_inf_nan=False,
            description="seconds per bucket; default window / 24",
        ),
    ] = None,
    max_drift_share: Annotated[
        float,
        Query(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="drifted-feature share that flags the estimate",
        ),
    ] = MAX_DRIFT_SHARE,
) -> PerformanceOut:
    """Accuracy, per-class precision/recall/F1 and macro-F1 (or MAE/RMSE/bias) from the labels
    devices joined, with label coverage and 95 % intervals; accuracy estimated from the score
    histograms where the version has a calibration (a baseline uploaded with a label column)."""
    report = performance_report(
        store,
        selection,
        start=window.start,
        end=window.end,
        step_s=step,
        max_drift_share=max_drift_share,
    )
    return performance_out(report)


@router.post(
    "/performance/evaluate",
    response_model=PerformanceOut,
    summary="Evaluate a labelled evaluation set (a field test)",
    responses={422: {"model": ProblemsOut, "description": "the file cannot be read; why"}},
)
async def evaluate(
    request: Request,
    _: AdminDep,
    store: StoreDep,
    settings: SettingsDep,
    file: UploadFile,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str, Query(min_length=1)],
    step: Annotated[
        float | None,
        Query(gt=0, le=MAX_SPAN_S, allow_inf_nan=False, description="seconds per time bucket"),
    ] = None,
) -> PerformanceOut:
    """Realized metrics of a CSV/Parquet of ``prediction`` and ``label`` (or ``score`` and a
    numeric ``label`` for regression), with optional ``score``, ``time`` and ``device``
    columns: overall, per time bucket and per device, beside the accuracy the version's
    calibration estimates from the same scores. The rows are not stored."""
    limit = settings.max_baseline_bytes
    data = await read_upload(
        request, file, limit=limit, declared_limit=2 * limit, what="evaluation"
    )
    frame = read_table(data, file.filename or "")
    report = evaluate_table(
        frame,
        version=version,
        calibration=version_calibration(store, model, version),
        now_s=time.time(),
        step_s=step,
    )
    return performance_out(report)
