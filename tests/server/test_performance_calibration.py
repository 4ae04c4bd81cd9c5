"""The calibration a labelled baseline upload stores: top-score or one-vs-rest, and none
without the columns or with too few labelled rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgewatch.detectors import calibration_from_dict
from edgewatch.server.performance import CALIBRATION, calibration_profile


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(3, p=p) for p in proba])
    return pd.DataFrame(
        {
            "f0": rng.normal(size=n),
            "prediction": proba.argmax(axis=1),
            "score": proba.max(axis=1),
            "label": truth.astype(float),  # as a CSV with missing values reads integers
            **{f"proba_{k}": proba[:, k] for k in range(3)},
        }
    )


def test_one_vs_rest_with_class_probabilities_top_score_without() -> None:
    frame = _frame(2000)
    pooled = calibration_profile(frame)
    top = calibration_profile(frame.drop(columns=["proba_0", "proba_1", "proba_2"]))
    assert pooled is not None and top is not None
    assert pooled.kind == top.kind == CALIBRATION
    accuracy = float((frame["prediction"] == frame["label"]).mean())
    assert pooled.mean == pytest.approx(accuracy) and top.mean == pytest.approx(accuracy)
    cal = calibration_from_dict(pooled.data)
    assert cal(np.array([0.5, 0.9])) == pytest.approx([0.5, 0.9], abs=0.08)


def test_no_calibration_without_labels_or_with_too_few() -> None:
    assert calibration_profile(_frame(200).drop(columns=["label"])) is None
    few = _frame(200)
    few.loc[10:, "label"] = np.nan
    assert calibration_profile(few) is None
