"""The calibration map (isotonic, against sklearn) and the estimate's stated interval (coverage)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from edgewatch.detectors import (
    calibration_from_dict,
    estimate_accuracy,
    fit_calibration,
    fit_one_vs_rest_calibration,
    from_values,
    pool_adjacent_violators,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_pool_adjacent_violators_equals_sklearn(y: list[float]) -> None:
    means, weights, starts = pool_adjacent_violators(y)
    fitted = np.repeat(means, weights.astype(int))
    expected = IsotonicRegression().fit_transform(np.arange(len(y)), y)
    np.testing.assert_allclose(fitted, expected, atol=1e-9)
    assert starts[0] == 0


def test_calibration_is_monotone_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    s = rng.uniform(0.2, 1.0, 5000)
    c = rng.uniform(size=s.size) < s
    cal = fit_calibration(s, c)
    assert np.all(np.diff(cal.y) >= 0)
    assert cal(np.array([0.3, 0.9])) == pytest.approx([0.3, 0.9], abs=0.08)
    again = calibration_from_dict(cal.to_dict())
    np.testing.assert_array_equal(again(s[:100]), cal(s[:100]))


def test_estimate_follows_a_shift_in_scores() -> None:
    rng = np.random.default_rng(2)
    ref = rng.beta(8, 2, 20_000)
    cal = fit_calibration(ref, rng.uniform(size=ref.size) < ref)
    shifted = rng.beta(4, 3, 5000)
    est = estimate_accuracy(from_values(shifted), cal)
    realized = float((rng.uniform(size=shifted.size) < shifted).mean())
    assert est.low <= realized <= est.high
    assert est.accuracy == pytest.approx(shifted.mean(), abs=0.02)


def test_empty_window_has_no_estimate() -> None:
    cal = fit_calibration([0.5, 0.9], [0, 1])
    assert np.isnan(estimate_accuracy(from_values([]), cal).accuracy)


@pytest.mark.parametrize("window", [200, 2000])
def test_interval_covers_realized_accuracy_in_unshifted_windows(window: int) -> None:
    """On windows drawn like the reference, the stated 95 % interval holds the realized accuracy
    in at least 90 % of windows."""
    rng = np.random.default_rng(7)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        s = 0.5 + 0.5 * rng.beta(3, 1.5, n)
        right = rng.uniform(size=n) < s**1.5  # miscalibrated on purpose: the map must learn it
        return s, right

    cal = fit_calibration(*draw(5000))
    hits = 0
    windows = 300
    for _ in range(windows):
        s, right = draw(window)
        est = estimate_accuracy(from_values(s), cal)
        hits += est.low <= right.mean() <= est.high
    assert hits / windows >= 0.90


def test_one_vs_rest_calibration_uses_every_class_probability() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, (3000, 4))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(4, p=p) for p in proba])  # calibrated by construction
    cal = fit_one_vs_rest_calibration(proba, truth)
    assert cal.rows == 3000
    assert cal.reference_accuracy == pytest.approx(float((proba.argmax(1) == truth).mean()))
    assert cal(np.array([0.2, 0.5, 0.9])) == pytest.approx([0.2, 0.5, 0.9], abs=0.06)
    top = proba.max(axis=1)
    est = estimate_accuracy(from_values(top), cal)
    assert est.low <= float((proba.argmax(1) == truth).mean()) <= est.high
    with pytest.raises(ValueError, match="rows, classes"):
        fit_one_vs_rest_calibration(proba[:, 0], truth)


def test_scores_beyond_the_reference_are_reported_outside() -> None:
    rng = np.random.default_rng(8)
    s = rng.uniform(0.8, 1.0, 2000)
    cal = fit_calibration(s, rng.uniform(size=s.size) < s)
    assert estimate_accuracy(from_values(rng.uniform(0.85, 0.95, 500)), cal).outside == 0.0
    low = estimate_accuracy(from_values(rng.uniform(0.3, 0.6, 500)), cal)
    assert low.outside > 0.95
    assert calibration_from_dict(cal.to_dict()).score_range == cal.score_range
