"""Response bodies of ``/api/v1/performance`` (pydantic, I/O edge only)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from edgewatch.server.performance import PerformanceReport, PerformanceRow


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


class ClassOut(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int = Field(description="labels of this class")
    predicted: int = Field(description="labelled predictions of this class")


class RealizedOut(BaseModel):
    """Metrics from the labels that arrived (classification or regression fields)."""

    labelled: int
    accuracy: float | None = None
    accuracy_low: float | None = Field(default=None, description="95 % Wilson interval")
    accuracy_high: float | None = None
    macro_f1: float | None = None
    classes: list[ClassOut] = Field(default_factory=list)
    mae: float | None = None
    mae_low: float | None = None
    mae_high: float | None = None
    rmse: float | None = None
    bias: float | None = Field(default=None, description="mean of prediction - truth")
    bias_low: float | None = None
    bias_high: float | None = None


class EstimateOut(BaseModel):
    """Accuracy expected from the scores and the version's calibration (no labels needed)."""

    accuracy: float
    low: float = Field(description="95 % interval")
    high: float
    std: float
    count: int = Field(description="scored predictions behind the estimate")
    outside: float = Field(description="share of scores beyond the reference's score range")
    reliable: bool = Field(
        description="false when input drift is large or many scores lie beyond the reference"
    )


class PerformanceRowOut(BaseModel):
    start: float = Field(description="unix seconds")
    end: float = Field(description="unix seconds")
    device_id: str | None = None
    model_version: str | None = None
    inferences: int
    labelled: int
    coverage: float | None = Field(description="labelled share of the inferences")
    realized: RealizedOut | None
    estimated: EstimateOut | None


class PerformanceOut(BaseModel):
    start: float
    end: float
    step_s: float
    task: str = Field(description="classification, regression or none (no labels)")
    labels: list[str] = Field(description="class order of the confusion matrix")
    confusion: list[list[int]] = Field(description="counts, confusion[predicted][actual]")
    total: PerformanceRowOut
    series: list[PerformanceRowOut]
    devices: list[PerformanceRowOut]
    versions: list[PerformanceRowOut]
    calibrated_versions: list[str]
    drift_share: float | None = Field(
        description="largest share of drifted features of a calibrated version in the window"
    )


def _realized(row: PerformanceRow) -> RealizedOut | None:
    c, r = row.classification, row.regression
    if c is None and r is None:
        return None
    out = RealizedOut(labelled=row.labelled)
    if c is not None:
        out.accuracy = c.accuracy
        out.accuracy_low = c.accuracy_low
        out.accuracy_high = c.accuracy_high
        out.macro_f1 = c.macro_f1
        out.classes = [
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
        out.mae = _finite(r.mae)
        out.mae_low = _finite(r.mae_low)
        out.mae_high = _finite(r.mae_high)
        out.rmse = _finite(r.rmse)
        out.bias = _finite(r.bias)
        out.bias_low = _finite(r.bias_low)
        out.bias_high = _finite(r.bias_high)
    return out


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
        start=row.start_s,
        end=row.end_s,
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
        start=report.start_s,
        end=report.end_s,
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
