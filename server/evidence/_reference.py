"""The reference sample: a bounded random sample of an uploaded baseline's rows, kept for reports.

The baseline upload profiles the whole file into histograms and discards it; this keeps at
most ``max_rows`` rows (default 10,000) so drift reports can show Evidently's per-row views.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from edgewatch.server.evidence._report import PREDICTION_COLUMN
from edgewatch.server.store import DEFAULT_REFERENCE_ROWS, SampleStoreProtocol


def _cell(value: Any) -> float | str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _label(value: Any) -> str | None:
    """A class label as devices send it: integral numbers (3.0) become "3"."""
    cell = _cell(value)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return None if cell is None else str(cell)


def save_reference_sample(
    samples: SampleStoreProtocol,
    model_name: str,
    model_version: str,
    frame: pd.DataFrame,
    *,
    max_rows: int = DEFAULT_REFERENCE_ROWS,
    seed: int | None = None,
) -> int:
    """Keep a random ``max_rows`` of ``frame`` (a ``prediction`` column becomes the label)."""
    if len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed)
    features = [c for c in frame.columns if c != PREDICTION_COLUMN]
    rows = [
        {str(name): _cell(v) for name, v in zip(features, values, strict=True)}
        for values in frame[features].itertuples(index=False, name=None)
    ]
    predictions = None
    if PREDICTION_COLUMN in frame.columns:
        predictions = [_label(p) for p in frame[PREDICTION_COLUMN]]
    return samples.save_reference(model_name, model_version, rows, predictions, max_rows=max_rows)
