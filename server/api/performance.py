"""``/api/v1/performance``: is the model still right? Realized metrics from late labels and
accuracy estimated without labels, over time, per device and per version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.server.api.deps import AdminDep, SelectionDep, StoreDep, WindowDep
from edgewatch.server.api.performance_schemas import PerformanceOut, performance_out
from edgewatch.server.performance import MAX_DRIFT_SHARE, performance_report

router = APIRouter(prefix="/api/v1", tags=["performance"])


@router.get("/performance", summary="Realized and estimated model performance")
def performance(
    _: AdminDep,
    store: StoreDep,
    selection: SelectionDep,
    window: WindowDep,
    step: Annotated[
        float | None, Query(gt=0, description="seconds per bucket; default window / 24")
    ] = None,
    max_drift_share: Annotated[
        float, Query(ge=0, le=1, description="drifted-feature share that flags the estimate")
    ] = MAX_DRIFT_SHARE,
) -> PerformanceOut:
    """Accuracy, per-class precision/recall/F1 and macro-F1 (or MAE/RMSE/bias) from the labels
    devices joined, with label coverage and 95 % intervals; accuracy estimated from the score
    histograms where the version has a calibration (a baseline uploaded with a label column)."""
    report = performance_report(
        store,
        selection,
        start_s=window.start_s,
        end_s=window.end_s,
        step_s=step,
        max_drift_share=max_drift_share,
    )
    return performance_out(report)
