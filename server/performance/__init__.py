"""Model performance: realized metrics from late labels joined on the devices, accuracy estimated
without labels from score histograms and a per-version calibration, and the rules over both."""

from __future__ import annotations

from edgewatch.server.performance._calibrate import (
    CALIBRATION,
    LABEL_COLUMN,
    calibration_profile,
    version_calibration,
)
from edgewatch.server.performance._report import (
    MAX_DRIFT_SHARE,
    PerformanceReport,
    PerformanceRow,
    performance_report,
)

__all__ = [
    "CALIBRATION",
    "LABEL_COLUMN",
    "MAX_DRIFT_SHARE",
    "PerformanceReport",
    "PerformanceRow",
    "calibration_profile",
    "performance_report",
    "version_calibration",
]
