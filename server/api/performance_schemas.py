"""``/api/v1/performance`` answers built from the performance report (the bodies are
``edgewatch.contract``'s)."""

from __future__ import annotations

import math
from typing import Any

from edgewatch.contract import (
    ClassOut,
    EstimateOut,
    PerformanceOut,
    PerformanceRowOut,
    RealizedOut,
)
from edgewatch.server.performance import PerformanceReport, PerformanceRow


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _realized(row: PerformanceRow) -> RealizedOut | None:
    c, r = row.classification, row.regression
    if c is None and r is None:
        return None
    fields: dict[str, Any] = {}
    if c is not None:
        fields["accuracy"] = c.accuracy
        fields["accuracy_low"] = c.accuracy_low
        fields["accuracy_high"] = c.accuracy_high
        fields["macro_f1"] = c.macro_f1
        fields["classes"] = [
            ClassOut(
                label=k.label,
                precision=k.precision,
                recall=k.recall,
                f1=k.f1,
                support=k.support,
                predicted=k.predicted,
            )
            for k in c.classes
        ]
    if r is not None:
        for name in ("mae", "mae_low", "mae_high", "rmse", "bias", "bias_low", "bias_high"):
            fields[name] = _finite(getattr(r, name))
    return RealizedOut(labelled=row.labelled, **fields)


def row_out(row: PerformanceRow) -> PerformanceRowOut:
    """One row of the report as JSON."""
    e = row.estimate
    estimated = None
    if e is not None and e.count and math.isfinite(e.accuracy):
        estimated = EstimateOut(
            accuracy=e.accuracy,
            low=e.low,
            high=e.high,
            std=e.std,
            count=e.count,
            outside=e.outside,
            reliable=bool(row.estimate_reliable),
        )
    return PerformanceRowOut(
        start=row.start,
        end=row.end,
        device_id=row.device_id,
        model_version=row.model_version,
        inferences=row.inferences,
        labelled=row.labelled,
        coverage=row.coverage,
        realized=_realized(row),
        estimated=estimated,
    )


def performance_out(report: PerformanceReport) -> PerformanceOut:
    """The whole report as JSON."""
    return PerformanceOut(
        start=report.start,
        end=report.end,
        step_s=report.step_s,
        task=report.task,
        labels=list(report.labels),
        confusion=[list(r) for r in report.matrix],
        total=row_out(report.total),
        series=[row_out(r) for r in report.series],
        devices=[row_out(r) for r in report.devices],
        versions=[row_out(r) for r in report.versions],
        calibrated_versions=list(report.calibrated_versions),
        drift_share=report.drift_share,
    )
