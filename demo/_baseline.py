"""Reference datasets: the held-out images with each model version's predictions and the true
digit, written as CSV or Parquet for the server's baseline upload (drift profiles, and the
calibration that estimates accuracy without labels: held out, because a model is right on
nearly every image it learnt from, which would calibrate every score to 100 %)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from edgewatch.demo._model import FEATURE_NAMES, V1, V2, ModelSet

BaselineFormat = Literal["csv", "parquet"]
PREDICTION_COLUMN = "prediction"
SCORE_COLUMN = "score"
LABEL_COLUMN = "label"
COLUMNS: tuple[str, ...] = (*FEATURE_NAMES, PREDICTION_COLUMN, SCORE_COLUMN, LABEL_COLUMN)
"""``px00``..``px63``, then the model's predicted class, its confidence and the true digit (the
server calibrates the version's accuracy estimate from the last three)."""


def write_baselines(
    models: ModelSet,
    out_dir: str | Path,
    fmt: BaselineFormat = "csv",
    versions: Sequence[str] = (V1, V2),
) -> dict[str, Path]:
    """Write one reference file per model version (the held-out split, labelled)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"baseline format must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = models.data.test_x
    truth = models.data.test_y
    written: dict[str, Path] = {}
    for version in versions:
        labels, scores = models[version].predict(x)
        path = out / f"baseline-digits-{version}.{fmt}"
        if fmt == "csv":
            _write_csv(path, x, labels, scores, truth)
        else:
            _write_parquet(path, x, labels, scores, truth)
        written[version] = path
    return written


def _write_csv(
    path: Path, x: np.ndarray, labels: np.ndarray, scores: np.ndarray, truth: np.ndarray
) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row, label, score, y in zip(x, labels, scores, truth, strict=True):
            writer.writerow([*(f"{v:g}" for v in row), int(label), f"{float(score):.6f}", int(y)])
    tmp.replace(path)


def _write_parquet(
    path: Path, x: np.ndarray, labels: np.ndarray, scores: np.ndarray, truth: np.ndarray
) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise RuntimeError(
            "writing Parquet baselines needs pyarrow (install edgewatch[server]); use fmt='csv'"
        ) from e
    columns = {name: pa.array(x[:, i]) for i, name in enumerate(FEATURE_NAMES)}
    columns[PREDICTION_COLUMN] = pa.array(labels.astype(np.int64))
    columns[SCORE_COLUMN] = pa.array(scores.astype(np.float32))
    columns[LABEL_COLUMN] = pa.array(truth.astype(np.int64))
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table(columns), tmp)
    tmp.replace(path)
