"""Validate and profile an uploaded baseline dataset (CSV or Parquet); the rows are dropped.

Every problem is reported at once, each naming the column and, where one row is at fault,
the row (1-based, counting data rows), so a user fixes the file in one go.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from edgewatch.collector import semconv
from edgewatch.server.detect._profile import (
    LATENCY_COLUMN,
    METRIC,
    PREDICTION,
    PREDICTION_COLUMN,
    SCORE,
    SCORE_COLUMN,
    categorical_profile,
    numeric_profile,
)
from edgewatch.server.performance import (
    LABEL_COLUMN,
    PROBA_PREFIX,
    calibration_profile,
    class_labels,
)
from edgewatch.server.store import ProfileRow

_SPECIAL = (PREDICTION_COLUMN, SCORE_COLUMN, LABEL_COLUMN, LATENCY_COLUMN)


@dataclass(frozen=True, slots=True)
class UploadProblem:
    """One thing wrong with an uploaded file."""

    message: str
    column: str | None = None
    row: int | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form for the 422 answer."""
        return {"column": self.column, "row": self.row, "message": self.message}


class BaselineUploadError(ValueError):
    """An uploaded baseline that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[UploadProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class UploadProfile:
    """What is kept of an upload: row count, feature names and their profiles."""

    rows: int
    features: tuple[str, ...]
    profiles: tuple[ProfileRow, ...]


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """A DataFrame from CSV or Parquet bytes (Parquet by magic number or ``.parquet``)."""
    try:
        if data[:4] == b"PAR1" or filename.lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))
    except pd.errors.EmptyDataError:
        raise BaselineUploadError([UploadProblem("the file holds no columns")]) from None
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise BaselineUploadError(
            [UploadProblem(f"cannot read {filename or 'the file'} as CSV or Parquet: {e}")]
        ) from None


def _first_non_numeric(column: pd.Series) -> int | None:
    parsed = pd.to_numeric(column, errors="coerce")
    bad = parsed.isna() & column.notna()
    if not bad.any():
        return None
    return int(np.flatnonzero(bad.to_numpy())[0]) + 1


def _mostly_numeric(column: pd.Series) -> bool:
    """At least half the present values parse as numbers: a numeric column with stray text."""
    present = column.dropna()
    parsed = pd.to_numeric(present, errors="coerce")
    return len(present) > 0 and parsed.notna().sum() >= len(present) / 2


def _check_column(
    name: str, column: pd.Series, expected: str | None, max_missing_share: float
) -> list[UploadProblem]:
    problems = []
    missing = int(column.isna().sum())
    if missing == len(column):
        return [UploadProblem(f"column {name!r} is empty (every value is missing)", name)]
    if missing / len(column) > max_missing_share:
        problems.append(
            UploadProblem(
                f"column {name!r} has {missing} of {len(column)} values missing "
                f"({missing / len(column):.0%}), more than the {max_missing_share:.0%} allowed",
                name,
            )
        )
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if expected == "numeric" and not numeric:
        row = _first_non_numeric(column)
        where = f" (first at row {row}: {column.iloc[row - 1]!r})" if row else ""
        problems.append(
            UploadProblem(
                f"column {name!r} must be numeric, as devices report it, but holds text{where}",
                name,
                row,
            )
        )
    elif not numeric and expected is None and _mostly_numeric(column):
        row = _first_non_numeric(column)
        problems.append(
            UploadProblem(
                f"column {name!r} mixes numbers and text "
                f"(first text at row {row}: {column.iloc[(row or 1) - 1]!r}); "
                "a numeric feature must hold only numbers",
                name,
                row,
            )
        )
    elif numeric:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.flatnonzero(np.isinf(values))
        if inf.size:
            problems.append(
                UploadProblem(f"column {name!r} holds an infinite value", name, int(inf[0]) + 1)
            )
    return problems


def _latency_problems(column: pd.Series) -> list[UploadProblem]:
    """``latency_s`` holds seconds: numbers, none negative or infinite."""
    if not pd.api.types.is_numeric_dtype(column):
        row = _first_non_numeric(column)
        return [UploadProblem("column 'latency_s' must be numeric (seconds)", LATENCY_COLUMN, row)]
    values = column.to_numpy(np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isnan(values) & ~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        return [
            UploadProblem(
                f"column 'latency_s' must hold seconds >= 0, got {float(values[bad[0]])!r}",
                LATENCY_COLUMN,
                int(bad[0]) + 1,
            )
        ]
    return []


def profile_upload(
    frame: pd.DataFrame,
    *,
    reported: Mapping[str, str],
    max_missing_share: float = 0.5,
) -> UploadProfile:
    """Validate ``frame`` against the features devices report (``reported``: name → numeric
    or categorical; empty when no device reported yet) and profile it."""
    problems: list[UploadProblem] = []
    names = [str(c) for c in frame.columns]
    if len(frame) == 0:
        problems.append(UploadProblem("the file has a header but no data rows"))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    problems += [UploadProblem(f"column {n!r} appears more than once", n) for n in duplicates]
    blank = [n for n in names if not n.strip() or n.startswith("Unnamed:")]
    problems += [UploadProblem("a column has no name", n) for n in blank]
    features = [
        n for n in names if n not in _SPECIAL and n not in blank and not n.startswith(PROBA_PREFIX)
    ]
    if reported:
        problems += [
            UploadProblem(
                f"column {n!r} is not a feature the devices of this model report "
                f"(they report: {', '.join(sorted(reported))})",
                n,
            )
            for n in features
            if n not in reported
        ]
        problems += [
            UploadProblem(f"feature {n!r} reported by the devices is missing from the file", n)
            for n in sorted(set(reported) - set(features))
        ]
    if not features and not problems:
        problems.append(UploadProblem("the file has no feature columns"))
    if problems:
        raise BaselineUploadError(problems)
    for name in names:
        problems += _check_column(
            name, frame[name], reported.get(name), max_missing_share if name in features else 1.0
        )
    if SCORE_COLUMN in names and not pd.api.types.is_numeric_dtype(frame[SCORE_COLUMN]):
        row = _first_non_numeric(frame[SCORE_COLUMN])
        problems.append(UploadProblem("column 'score' must be numeric", SCORE_COLUMN, row))
    if LATENCY_COLUMN in names:
        problems += _latency_problems(frame[LATENCY_COLUMN])
    if problems:
        raise BaselineUploadError(problems)
    profiles = []
    for name in features:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and reported.get(name) != "categorical":
            profiles.append(numeric_profile(name, column.to_numpy(np.float64, na_value=np.nan)))
        else:
            profiles.append(categorical_profile(name, column.astype(object).tolist()))
    if PREDICTION_COLUMN in names:
        profiles.append(
            categorical_profile(
                PREDICTION_COLUMN, class_labels(frame[PREDICTION_COLUMN]), kind=PREDICTION
            )
        )
    if SCORE_COLUMN in names:
        values = frame[SCORE_COLUMN].to_numpy(np.float64, na_value=np.nan)
        profiles.append(numeric_profile(SCORE_COLUMN, values, kind=SCORE))
    if LATENCY_COLUMN in names:
        values = frame[LATENCY_COLUMN].to_numpy(np.float64, na_value=np.nan)
        profiles.append(numeric_profile(semconv.INFERENCE_DURATION, values, kind=METRIC))
    calibration = calibration_profile(frame)
    if calibration is not None:
        profiles.append(calibration)
    return UploadProfile(len(frame), tuple(features), tuple(profiles))
