"""Realized model performance from label counts: a confusion matrix (classification) or error
sums (regression), each figure with a confidence interval so 12 labels do not read like 12,000.

Pure: the server merges the counts devices send and calls these functions.

Example::

    m = classification_metrics(np.array([[5, 1], [2, 7]]), ("cat", "dog"))
    m.accuracy  # 12 / 15, as sklearn.metrics.accuracy_score on the same labels
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    """Precision, recall and F1 of one class (0 where undefined, as sklearn's ``zero_division=0``)."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    """Labels of this class (true instances)."""
    predicted: int
    """Predictions of this class among the labelled ones."""


@dataclass(frozen=True, slots=True)
class ClassificationMetrics:
    """Accuracy with its Wilson interval, per-class figures and macro-F1 over labelled counts."""

    count: int
    correct: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    macro_f1: float
    classes: tuple[ClassMetrics, ...]


@dataclass(frozen=True, slots=True)
class RegressionMetrics:
    """MAE, RMSE and bias (mean of prediction - truth) with normal intervals for MAE and bias."""

    count: int
    mae: float
    rmse: float
    bias: float
    mae_low: float
    mae_high: float
    bias_low: float
    bias_high: float


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile for ``confidence`` (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(
    successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; ``(0, 1)`` without trials.

    Reference: Wilson (1927); Brown, Cai & DasGupta (2001) recommend it for small ``n``.
    """
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_metrics(
    matrix: npt.ArrayLike,
    labels: Sequence[str],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ClassificationMetrics:
    """Metrics of a confusion matrix of counts, ``matrix[predicted, actual]``.

    Classes that were neither predicted nor labelled are left out of the macro average,
    as sklearn does when it takes the labels from the data. Counts are exact Python integers:
    a device may report counts near 2**63 (valid OTLP), and int64 sums would overflow.
    """
    m = np.asarray(matrix, dtype=object)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(labels):
        raise ValueError(f"matrix must be square with one row per label, got shape {m.shape}")
    if (m < 0).any():
        raise ValueError("matrix counts must be non-negative")
    n = int(m.sum())
    correct = int(np.trace(m))
    predicted = m.sum(axis=1)
    actual = m.sum(axis=0)
    classes = []
    f1s = []
    for k, label in enumerate(labels):
        tp = int(m[k, k])
        precision = _ratio(tp, int(predicted[k]))
        recall = _ratio(tp, int(actual[k]))
        f1 = _ratio(2 * tp, int(predicted[k]) + int(actual[k]))
        classes.append(
            ClassMetrics(label, precision, recall, f1, int(actual[k]), int(predicted[k]))
        )
        if predicted[k] or actual[k]:
            f1s.append(f1)
    low, high = wilson_interval(correct, n, confidence)
    return ClassificationMetrics(
        count=n,
        correct=correct,
        accuracy=_ratio(correct, n),
        accuracy_low=low,
        accuracy_high=high,
        macro_f1=float(np.mean(f1s)) if f1s else 0.0,
        classes=tuple(classes),
    )


def regression_metrics(
    count: int,
    error_sum: float,
    abs_error_sum: float,
    squared_error_sum: float,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> RegressionMetrics:
    """MAE, RMSE and bias from the sums of error (prediction - truth), |error| and error².

    The intervals are normal approximations (the variance of |e| and of e follow from the same
    three sums); with fewer than two labels they span nothing (NaN).
    """
    nan = float("nan")
    if count <= 0:
        return RegressionMetrics(0, nan, nan, nan, nan, nan, nan, nan)
    mae = abs_error_sum / count
    bias = error_sum / count
    mean_sq = squared_error_sum / count
    if count < 2:
        return RegressionMetrics(count, mae, math.sqrt(mean_sq), bias, nan, nan, nan, nan)
    z = z_value(confidence)
    se_abs = math.sqrt(max(0.0, mean_sq - mae * mae) / (count - 1))
    se_bias = math.sqrt(max(0.0, mean_sq - bias * bias) / (count - 1))
    return RegressionMetrics(
        count=count,
        mae=mae,
        rmse=math.sqrt(mean_sq),
        bias=bias,
        mae_low=mae - z * se_abs,
        mae_high=mae + z * se_abs,
        bias_low=bias - z * se_bias,
        bias_high=bias + z * se_bias,
    )
