"""The sample a profile feeds the model: rows of features and, when present, their labels.

``.npy`` holds features only; ``.npz`` holds ``x`` (or ``features``) and optionally ``y`` (or
``labels``); ``.csv`` (header row) and ``.parquet`` hold one column per feature plus an optional
label column (``--label-column``, default ``label``). Parquet needs pyarrow.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

DEFAULT_LABEL_COLUMN = "label"


class SampleError(ValueError):
    """The sample file cannot be read or has no rows."""


@dataclass(frozen=True, slots=True)
class Sample:
    """Feature rows (n × …) and the labels of those rows when the sample carries them."""

    features: npt.NDArray[np.float64]
    labels: npt.NDArray[np.str_] | None

    def __len__(self) -> int:
        return int(self.features.shape[0])


def load_sample(path: str | Path, label_column: str = DEFAULT_LABEL_COLUMN) -> Sample:
    """Read ``path`` by its suffix; ``SampleError`` names the file and what is wrong."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            sample = Sample(np.asarray(np.load(p, allow_pickle=False), dtype=np.float64), None)
        elif suffix == ".npz":
            sample = _npz(p)
        elif suffix == ".csv":
            sample = _columns(*_csv(p), label_column)
        elif suffix == ".parquet":
            sample = _columns(*_parquet(p), label_column)
        else:
            raise SampleError(f"{p}: unknown sample format {suffix!r} (npy, npz, csv, parquet)")
    except (OSError, ValueError, KeyError) as e:
        if isinstance(e, SampleError):
            raise
        raise SampleError(f"{p}: {e}") from e
    if len(sample) == 0:
        raise SampleError(f"{p}: the sample has no rows")
    return sample


def _npz(path: Path) -> Sample:
    with np.load(path, allow_pickle=False) as data:
        key = next((k for k in ("x", "features") if k in data), None)
        if key is None:
            raise SampleError(f"{path}: an .npz sample needs an array named x or features")
        features = np.asarray(data[key], dtype=np.float64)
        label_key = next((k for k in ("y", "labels") if k in data), None)
        labels = None if label_key is None else _labels(data[label_key])
    return Sample(features, labels)


def _labels(values: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Labels as strings, integral floats written as integers (``3.0`` → ``"3"``)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        try:
            arr = arr.astype(np.float64)
        except ValueError:
            return arr.astype(str)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    return arr.astype(str)


def _csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise SampleError(f"{path}: empty CSV")
        return [h.strip() for h in header], [row for row in reader if row]


def _parquet(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise SampleError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from e
    table = pq.read_table(path)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    return list(table.column_names), [list(map(str, row)) for row in zip(*columns, strict=True)]


def _columns(header: list[str], rows: list[list[str]], label_column: str) -> Sample:
    label_at = header.index(label_column) if label_column in header else None
    feature_at = [i for i in range(len(header)) if i != label_at]
    try:
        features = np.array([[float(row[i]) for i in feature_at] for row in rows], dtype=np.float64)
    except (ValueError, IndexError) as e:
        raise SampleError(f"a feature value is not a number: {e}") from e
    labels = None if label_at is None else _labels([row[label_at] for row in rows])
    return Sample(features.reshape(len(rows), len(feature_at)), labels)
