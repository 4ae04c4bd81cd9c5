"""Links to the drift report, for alert details and the dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

REPORT_PATH = "/api/v1/reports/drift"


def drift_report_path(
    model: str, version: str, device: str | None, start_s: float, end_s: float
) -> str:
    """The report's path and query for a model version (or one device) over a window."""
    query: dict[str, str] = {"model": model, "version": version}
    if device:
        query["device"] = device
    query["from"] = f"{start_s:.0f}"
    query["to"] = f"{end_s:.0f}"
    return f"{REPORT_PATH}?{urlencode(query)}"


def report_path_for_alert(labels: Mapping[str, str], start_s: float, end_s: float) -> str | None:
    """The report for an alert's device or model version (``None`` without model and version)."""
    model, version = labels.get("model"), labels.get("version")
    if not model or not version:
        return None
    return drift_report_path(model, version, labels.get("device"), start_s, end_s)
