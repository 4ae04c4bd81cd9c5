"""The calibration of a model version: fitted from the labelled rows of an uploaded baseline
(``prediction``, ``score`` and ``label`` columns) and stored with it as one profile row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgewatch.detectors import (
    Calibration,
    calibration_from_dict,
    fit_calibration,
    fit_one_vs_rest_calibration,
)
from edgewatch.server.store import ProfileRow, StoreProtocol

LABEL_COLUMN = "label"
"""Optional column of an uploaded baseline: the true class (or value) of each row."""
CALIBRATION = "calibration"
"""Name and kind of the profile row holding a version's calibration map."""
PROBA_PREFIX = "proba_"
"""Optional columns ``proba_<class>`` of an uploaded baseline: the model's probability of each
class. With them the map is fitted one-vs-rest on every probability (more pairs, and the low
probabilities a shifted window's top scores fall to), otherwise on the top scores alone."""
MIN_CALIBRATION_ROWS = 20
"""Fewer labelled rows than this fit no map: the estimate would be mostly noise."""


def class_labels(column: pd.Series) -> list[str | None]:
    """Class labels as devices send them: integral floats (3.0) become "3"."""
    out: list[str | None] = []
    for v in column.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def calibration_profile(frame: pd.DataFrame) -> ProfileRow | None:
    """The calibration map of a labelled upload, or None without prediction, score and label.

    A row is right when its prediction equals its label; rows missing any of the three are
    left out (``missing`` counts them).
    """
    if not {"prediction", "score", LABEL_COLUMN} <= {str(c) for c in frame.columns}:
        return None
    predicted = class_labels(frame["prediction"])
    truth = class_labels(frame[LABEL_COLUMN])
    scores = pd.to_numeric(frame["score"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    keep = np.array(
        [p is not None and t is not None for p, t in zip(predicted, truth, strict=True)], bool
    ) & np.isfinite(scores)
    if int(keep.sum()) < MIN_CALIBRATION_ROWS:
        return None
    proba = [str(c) for c in frame.columns if str(c).startswith(PROBA_PREFIX)]
    if len(proba) >= 2:
        classes = [c[len(PROBA_PREFIX) :] for c in proba]
        p = frame[proba].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        keep &= np.isfinite(p).all(axis=1)
        index = {c: k for k, c in enumerate(classes)}
        true_index = np.array([index.get(t, -1) if t is not None else -1 for t in truth])
        cal = fit_one_vs_rest_calibration(p[keep], true_index[keep])
    else:
        correct = np.array([p == t for p, t in zip(predicted, truth, strict=True)], float)
        cal = fit_calibration(scores[keep], correct[keep])
    return ProfileRow(
        name=CALIBRATION,
        kind=CALIBRATION,
        count=cal.rows,
        missing=len(frame) - cal.rows,
        mean=cal.reference_accuracy,
        p50=None,
        p95=None,
        data=cal.to_dict(),
    )


def version_calibration(
    store: StoreProtocol, model_name: str, model_version: str
) -> Calibration | None:
    """The newest calibration stored with a baseline of the version, if any."""
    table = store.baselines
    for info in table.list(model_name, model_version):
        for row in table.get(info.id).profiles:
            if row.kind == CALIBRATION:
                return calibration_from_dict(row.data)
    return None
