"""A labelled evaluation set (a field test): realized metrics of its rows, overall, per device
and per time window, beside the accuracy the version's calibration estimates from the same rows'
scores. Nothing is stored: the rows are read, summarised and dropped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from edgewatch.detectors import (
    Calibration,
    classification_metrics,
    estimate_accuracy,
    from_values,
    regression_metrics,
)
from edgewatch.server.performance._calibrate import LABEL_COLUMN, class_labels
from edgewatch.server.performance._report import (
    MAX_BUCKETS,
    MAX_OUTSIDE_SHARE,
    PerformanceReport,
    PerformanceRow,
    label_order,
)
from edgewatch.server.store import InvalidQueryError
from edgewatch.server.store._time import from_unix, utc_datetime

TIME_COLUMN = "time"
"""Optional: when each row's inference ran (unix seconds or an ISO 8601 time)."""
DEVICE_COLUMN = "device"
"""Optional: which device ran it."""


def _times(frame: pd.DataFrame, now_s: float) -> np.ndarray:
    if TIME_COLUMN not in frame.columns:
        return np.full(len(frame), now_s)
    column = frame[TIME_COLUMN]
    if pd.api.types.is_numeric_dtype(column):
        t = column.to_numpy(np.float64, na_value=np.nan)
    else:
        parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
        t = np.array([x.timestamp() if not pd.isna(x) else np.nan for x in parsed])
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise InvalidQueryError(
            f"column 'time' row {int(bad[0]) + 1}: not a unix time or ISO 8601 time"
        )
    if t.size:
        for edge in (t.min(), t.max()):  # the store's own check: a time a datetime can hold
            utc_datetime(float(edge))
    return t


def _confusion(frame: pd.DataFrame) -> tuple[tuple[str, ...], np.ndarray]:
    """Class order and ``matrix[predicted, actual]`` of the rows."""
    pred = [str(x) for x in class_labels(frame["prediction"])]
    truth = [str(x) for x in class_labels(frame[LABEL_COLUMN])]
    labels = label_order([*pred, *truth])
    index = {c: k for k, c in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(m, ([index[p] for p in pred], [index[t] for t in truth]), 1)
    return labels, m


def _row(
    frame: pd.DataFrame,
    start_s: float,
    end_s: float,
    calibration: Calibration | None,
    *,
    device_id: str | None = None,
    version: str | None = None,
) -> PerformanceRow:
    n = len(frame)
    classification = regression = None
    if "prediction" in frame.columns:
        labels, m = _confusion(frame)
        classification = classification_metrics(m, labels)
    else:
        e = frame["score"].to_numpy(np.float64) - frame[LABEL_COLUMN].to_numpy(np.float64)
        regression = regression_metrics(n, float(e.sum()), float(np.abs(e).sum()), float(e @ e))
    estimate = None
    if calibration is not None and classification is not None and "score" in frame.columns:
        scores = frame["score"].to_numpy(np.float64)
        est = estimate_accuracy(from_values(scores[np.isfinite(scores)]), calibration)
        estimate = est if est.count else None
    return PerformanceRow(
        start=from_unix(start_s),
        end=from_unix(end_s),
        device_id=device_id,
        model_version=version,
        inferences=n,
        labelled=n,
        coverage=1.0 if n else None,
        classification=classification,
        regression=regression,
        estimate=estimate,
        estimate_reliable=None if estimate is None else estimate.outside <= MAX_OUTSIDE_SHARE,
    )


def evaluate_table(
    frame: pd.DataFrame,
    *,
    version: str,
    calibration: Calibration | None,
    now_s: float,
    step_s: float | None = None,
) -> PerformanceReport:
    """Realized (and estimated) performance of a labelled table: ``prediction`` and ``label``
    (classification) or ``score`` and a numeric ``label`` (regression); ``score``, ``time`` and
    ``device`` are optional. Rows missing the label or prediction are left out."""
    columns = {str(c) for c in frame.columns}
    if LABEL_COLUMN not in columns or not ({"prediction", "score"} & columns):
        raise InvalidQueryError(
            "an evaluation set needs a 'label' column and a 'prediction' column "
            "(classification) or a 'score' column (regression)"
        )
    needed = [LABEL_COLUMN, "prediction" if "prediction" in columns else "score"]
    frame = frame.dropna(subset=needed).reset_index(drop=True)
    if frame.empty:
        raise InvalidQueryError("the evaluation set has no row with both prediction and label")
    if "prediction" not in columns:
        for name in ("score", LABEL_COLUMN):
            if not pd.api.types.is_numeric_dtype(frame[name]):
                raise InvalidQueryError(f"column {name!r} must be numeric for a regression set")
    t = _times(frame, now_s)
    start_s, end_s = float(t.min()), float(t.max()) + 1.0
    step = step_s or max(1.0, (end_s - start_s) / 24)
    if (end_s - start_s) / step > MAX_BUCKETS:
        raise InvalidQueryError(f"step_s must give at most {MAX_BUCKETS} buckets, got {step_s}")
    total = _row(frame, start_s, end_s, calibration, version=version)
    bucket = np.floor((t - start_s) / step).astype(np.int64)
    series = []
    for k in range(math.ceil((end_s - start_s) / step - 1e-9)):
        part = frame[bucket == k]
        if len(part):
            lo = start_s + k * step
            series.append(_row(part, lo, min(end_s, lo + step), calibration, version=version))
    devices = []
    if DEVICE_COLUMN in columns:
        for device, part in frame.groupby(frame[DEVICE_COLUMN].astype(str), sort=True):
            devices.append(
                _row(part, start_s, end_s, calibration, device_id=str(device), version=version)
            )
    labels: tuple[str, ...] = ()
    matrix: tuple[tuple[int, ...], ...] = ()
    if "prediction" in columns:
        labels, m = _confusion(frame)
        matrix = tuple(tuple(int(v) for v in r) for r in m)
    return PerformanceReport(
        start=from_unix(start_s),
        end=from_unix(end_s),
        step_s=step,
        task="classification" if "prediction" in columns else "regression",
        labels=labels,
        matrix=matrix,
        total=total,
        series=tuple(series),
        devices=tuple(devices),
        versions=(total,),
        calibrated_versions=(version,) if calibration is not None else (),
        drift_share=None,
    )
