"""Reference datasets: the held-out images with each model version's predictions, the true
digit and each inference's measured latency, written as CSV or Parquet for the server's
baseline upload (drift profiles, the latency reference, and the calibration that estimates
accuracy without labels: held out, because a model is right on nearly every image it learnt
from, which would calibrate every score to 100 %)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from edgewatch.demo._model import FEATURE_NAMES, V1, V2, ModelSet

BaselineFormat = Literal["csv", "parquet"]
PREDICTION_COLUMN = "prediction"
SCORE_COLUMN = "score"
LABEL_COLUMN = "label"
LATENCY_COLUMN = "latency_s"
COLUMNS: tuple[str, ...] = (
    *FEATURE_NAMES,
    PREDICTION_COLUMN,
    SCORE_COLUMN,
    LABEL_COLUMN,
    LATENCY_COLUMN,
)
"""``px00``..``px63``, then the model's predicted class, its confidence and the true digit (the
server calibrates the version's accuracy estimate from these three), and the inference's
latency in seconds, measured as the demo devices measure theirs (thread CPU time of one
image's inference): the version's latency reference, which a regression cannot leak into
as it leaks into a device's own short history."""


def write_baselines(
    models: ModelSet,
    out_dir: str | Path,
    fmt: BaselineFormat = "csv",
    versions: Sequence[str] = (V1, V2),
    timer: Callable[[], float] = time.thread_time,
) -> dict[str, Path]:
    """Write one reference file per model version (the held-out split, labelled, with each
    image's inference timed by ``timer`` as the devices time theirs)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"baseline format must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = models.data.test_x
    truth = models.data.test_y
    written: dict[str, Path] = {}
    for version in versions:
        labels, scores = models[version].predict(x)
        rows = _Rows(x, labels, scores, truth, _latencies(models, version, x, timer))
        path = out / f"baseline-digits-{version}.{fmt}"
        if fmt == "csv":
            _write_csv(path, rows)
        else:
            _write_parquet(path, rows)
        written[version] = path
    return written


@dataclass(frozen=True, slots=True)
class _Rows:
    """One reference file's columns: images, predictions, scores, truths, latencies."""

    x: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    truth: np.ndarray
    latency: np.ndarray


def _latencies(
    models: ModelSet, version: str, x: np.ndarray, timer: Callable[[], float]
) -> np.ndarray:
    """Each image's inference on its own, timed as a device times one."""
    out = np.empty(len(x))
    model = models[version]
    for i in range(len(x)):
        started = timer()
        model.predict(x[i : i + 1])
        out[i] = timer() - started
    return out


def _write_csv(path: Path, rows: _Rows) -> None:
    tmp = path.with_suffix(".tmp")
    columns = (rows.x, rows.labels, rows.scores, rows.truth, rows.latency)
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row, label, score, y, s in zip(*columns, strict=True):
            writer.writerow(
                [*(f"{v:g}" for v in row), int(label), f"{float(score):.6f}", int(y), f"{s:.9f}"]
            )
    tmp.replace(path)


def _write_parquet(path: Path, rows: _Rows) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise RuntimeError(
            "writing Parquet baselines needs pyarrow (install edgewatch[server]); use fmt='csv'"
        ) from e
    columns = {name: pa.array(rows.x[:, i]) for i, name in enumerate(FEATURE_NAMES)}
    columns[PREDICTION_COLUMN] = pa.array(rows.labels.astype(np.int64))
    columns[SCORE_COLUMN] = pa.array(rows.scores.astype(np.float32))
    columns[LABEL_COLUMN] = pa.array(rows.truth.astype(np.int64))
    columns[LATENCY_COLUMN] = pa.array(rows.latency.astype(np.float64))
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table(columns), tmp)
    tmp.replace(path)
