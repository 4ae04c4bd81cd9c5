"""Model performance: realized metrics from late labels joined on the devices, accuracy estimated
without labels from score histograms and a per-version calibration, and the rules over both."""

from __future__ import annotations

from edgewatch.server.performance._calibrate import (
    CALIBRATION,
    LABEL_COLUMN,
    PROBA_PREFIX,
    calibration_profile,
    class_labels,
    version_calibration,
)
from edgewatch.server.performance._evaluation import evaluate_table
from edgewatch.server.performance._report import (
    MAX_DRIFT_SHARE,
    PerformanceReport,
    PerformanceRow,
    performance_report,
    version_accuracy,
    window_performance,
)

__all__ = [
    "CALIBRATION",
    "LABEL_COLUMN",
    "MAX_DRIFT_SHARE",
    "PROBA_PREFIX",
    "PerformanceReport",
    "PerformanceRow",
    "calibration_profile",
    "class_labels",
    "evaluate_table",
    "performance_report",
    "version_accuracy",
    "version_calibration",
    "window_performance",
]
