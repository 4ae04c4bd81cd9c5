"""Bodies of ``/api/v1/performance``: realized metrics from labels and the accuracy estimated
from scores, per time step, device and version."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from edgewatch.contract._time import Timestamp


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ClassOut(_Out):
    label: str
    precision: float
    recall: float
    f1: float
    support: int = Field(description="labels of this class")
    predicted: int = Field(description="labelled predictions of this class")


class RealizedOut(_Out):
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


class EstimateOut(_Out):
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


class PerformanceRowOut(_Out):
    start: Timestamp
    end: Timestamp
    device_id: str | None = None
    model_version: str | None = None
    inferences: int
    labelled: int
    coverage: float | None = Field(description="labelled share of the inferences")
    realized: RealizedOut | None
    estimated: EstimateOut | None


class PerformanceOut(_Out):
    start: Timestamp
    end: Timestamp
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
