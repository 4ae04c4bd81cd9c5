"""An Evidently drift report (DataDriftPreset + DataSummaryPreset) of sampled rows against the
reference sample of a model version.

Both sides are capped (a random subset beyond ``max_rows``) so a report takes seconds. The
HTML opens with a line saying how many rows each side had. Evidently is imported here, on
first use, so the server starts without it and its import-time deprecation warnings (from
its legacy modules) are contained at this boundary.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from edgewatch.server.store import SampleSet

PREDICTION_COLUMN = "prediction"


class NotEnoughRowsError(Exception):
    """One side of a report has fewer rows than ``needed`` (answered 422 with a remedy)."""

    def __init__(self, reference_rows: int, current_rows: int, needed: int, remedy: str) -> None:
        short = []
        if reference_rows < needed:
            short.append(f"the reference sample has {reference_rows}")
        if current_rows < needed:
            short.append(f"the window has {current_rows} sampled rows")
        super().__init__(
            f"a drift report needs at least {needed} rows on each side: "
            + " and ".join(short)
            + f". {remedy}"
        )
        self.reference_rows = reference_rows
        self.current_rows = current_rows
        self.needed = needed
        self.remedy = remedy


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Which rows a report compares."""

    model_name: str
    model_version: str
    device_id: str | None
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The report's HTML and snapshot, and the rows each side had (used / matching)."""

    html: str
    snapshot: dict[str, Any]
    reference_rows: int
    current_rows: int
    reference_total: int
    current_total: int
    columns: tuple[str, ...]


def _frame(rows: SampleSet, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows.features, columns=columns)
    if PREDICTION_COLUMN in columns:
        frame[PREDICTION_COLUMN] = rows.predictions
    return frame


def _columns(reference: SampleSet, current: SampleSet) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns present on both sides (strings make a column categorical)."""
    ref_keys = {k for row in reference.features for k in row}
    cur_keys = {k for row in current.features for k in row}
    numeric, categorical = [], []
    for name in sorted(ref_keys & cur_keys):
        values = [row.get(name) for row in (*reference.features, *current.features)]
        if any(isinstance(v, str) for v in values):
            categorical.append(name)
        elif any(isinstance(v, int | float) and math.isfinite(v) for v in values):
            numeric.append(name)
    if any(p is not None for p in reference.predictions) and any(
        p is not None for p in current.predictions
    ):
        categorical.append(PREDICTION_COLUMN)
    return numeric, categorical


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _banner(request: ReportRequest, ref: SampleSet, cur: SampleSet, n_ref: int, n_cur: int) -> str:
    scope = f"{request.model_name} {request.model_version}"
    if request.device_id:
        scope += f", device {request.device_id}"
    text = (
        f"edgewatch drift report for {scope}, {_when(request.start)} to {_when(request.end)}: "
        f"reference rows {n_ref} (of {ref.total} in the reference sample), "
        f"current rows {n_cur} (of {cur.total} sampled in the window)."
    )
    return (
        '<div id="edgewatch-rows" style="font-family:sans-serif;padding:8px 16px;'
        f'background:#f3f4f6;border-bottom:1px solid #ddd">{html.escape(text)}</div>'
    )


def build_drift_report(
    request: ReportRequest, reference: SampleSet, current: SampleSet, *, min_rows: int, remedy: str
) -> DriftReport:
    """Run Evidently's drift and summary presets on the two sides; raises ``NotEnoughRowsError``."""
    n_ref, n_cur = len(reference.features), len(current.features)
    if n_ref < min_rows or n_cur < min_rows:
        raise NotEnoughRowsError(n_ref, n_cur, min_rows, remedy)
    numeric, categorical = _columns(reference, current)
    columns = numeric + categorical
    if not columns:
        raise NotEnoughRowsError(0, 0, min_rows, "The two sides share no feature columns.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset, DataSummaryPreset

        definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        snapshot = Report([DataDriftPreset(), DataSummaryPreset()]).run(
            Dataset.from_pandas(_frame(current, columns), data_definition=definition),
            Dataset.from_pandas(_frame(reference, columns), data_definition=definition),
        )
        page = snapshot.get_html_str(as_iframe=False)
        summary = snapshot.dict()
    banner = _banner(request, reference, current, n_ref, n_cur)
    at = page.find("<body>")
    page = page[: at + 6] + banner + page[at + 6 :] if at >= 0 else banner + page
    return DriftReport(page, summary, n_ref, n_cur, reference.total, current.total, tuple(columns))
