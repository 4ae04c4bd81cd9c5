"""Evidence for drift alerts: Evidently reports of sampled rows against the reference sample,
and drift-triggered sampling (a firing drift alert raises its devices' sampling budget)."""

from __future__ import annotations

from edgewatch.server.evidence._capture import DRIFT_RULES, DriftCapture, drift_rule_names
from edgewatch.server.evidence._links import drift_report_path, report_path_for_alert
from edgewatch.server.evidence._reference import save_reference_sample
from edgewatch.server.evidence._report import (
    DriftReport,
    NotEnoughRowsError,
    ReportRequest,
    build_drift_report,
)

__all__ = [
    "DRIFT_RULES",
    "DriftCapture",
    "DriftReport",
    "NotEnoughRowsError",
    "ReportRequest",
    "build_drift_report",
    "drift_report_path",
    "drift_rule_names",
    "report_path_for_alert",
    "save_reference_sample",
]
