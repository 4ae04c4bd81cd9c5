"""Realized metrics from confusion counts against sklearn.metrics on the same labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from edgewatch.detectors import classification_metrics, regression_metrics, wilson_interval


def _rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (predicted, actual) arrays whose confusion matrix is ``matrix``."""
    pred, actual = np.nonzero(matrix)
    reps = matrix[pred, actual]
    return np.repeat(pred, reps), np.repeat(actual, reps)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda k: st.lists(
            st.integers(min_value=0, max_value=30), min_size=k * k, max_size=k * k
        ).map(lambda v: np.asarray(v, dtype=np.int64).reshape(k, k))
    )
)
def test_metrics_equal_sklearn(matrix: np.ndarray) -> None:
    if matrix.sum() == 0:
        matrix = matrix.copy()
        matrix[0, 0] = 1
    labels = [f"c{k}" for k in range(matrix.shape[0])]
    m = classification_metrics(matrix, labels)
    pred, actual = _rows(matrix)
    assert m.count == pred.size
    assert m.accuracy == pytest.approx(accuracy_score(actual, pred), abs=1e-12)
    assert m.macro_f1 == pytest.approx(
        f1_score(actual, pred, average="macro", zero_division=0), abs=1e-12
    )
    present = sorted(set(pred.tolist()) | set(actual.tolist()))
    p, r, f, s = precision_recall_fscore_support(actual, pred, labels=present, zero_division=0)
    for j, k in enumerate(present):
        c = m.classes[k]
        assert c.precision == pytest.approx(p[j], abs=1e-12)
        assert c.recall == pytest.approx(r[j], abs=1e-12)
        assert c.f1 == pytest.approx(f[j], abs=1e-12)
        assert c.support == s[j]
    assert m.accuracy_low <= m.accuracy <= m.accuracy_high


def test_wilson_interval_matches_statsmodels_reference_values() -> None:
    low, high = wilson_interval(12, 12)
    assert low == pytest.approx(0.7575, abs=1e-4)
    assert high == 1.0
    low, high = wilson_interval(6000, 12000)
    assert high - low == pytest.approx(2 * 1.959964 * np.sqrt(0.25 / 12000), rel=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_few_labels_give_a_wide_interval() -> None:
    few = classification_metrics(np.array([[10, 1], [1, 0]]), ["a", "b"])
    many = classification_metrics(np.array([[10_000, 1_000], [1_000, 0]]), ["a", "b"])
    assert few.accuracy == pytest.approx(many.accuracy)
    assert few.accuracy_high - few.accuracy_low > 10 * (many.accuracy_high - many.accuracy_low)


def test_bad_matrix_names_the_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(np.zeros((2, 3)), ["a", "b"])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=200), st.floats(-10, 10))
def test_regression_metrics_from_sums(errors: list[float], shift: float) -> None:
    e = np.asarray(errors) + shift
    m = regression_metrics(e.size, float(e.sum()), float(np.abs(e).sum()), float((e * e).sum()))
    assert m.mae == pytest.approx(np.abs(e).mean(), rel=1e-9, abs=1e-9)
    assert m.bias == pytest.approx(e.mean(), rel=1e-9, abs=1e-6)
    assert m.rmse == pytest.approx(np.sqrt((e * e).mean()), rel=1e-9, abs=1e-9)
    assert m.mae_low <= m.mae <= m.mae_high


def test_regression_without_labels_is_nan() -> None:
    assert np.isnan(regression_metrics(0, 0.0, 0.0, 0.0).mae)
