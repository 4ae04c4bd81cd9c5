"""False-alarm rates on identical-distribution windows at default thresholds: the distances
stay quiet (≤ 1 % of windows with ≥ 1000 samples), the tests fire at their nominal level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgewatch.detectors import Verdict, categorical_counts, drift, from_values

WINDOWS = 150
DISTANCE_RATE = 0.01
"""Stated: at most 1 % of identical-distribution windows flagged by the distances."""


def _rate(method: str, reference: object, windows: list[object]) -> float:
    flagged = sum(drift(reference, w, method).verdict is Verdict.DRIFT for w in windows)  # type: ignore[arg-type]
    return flagged / len(windows)


@pytest.fixture(scope="module")
def numeric() -> tuple[object, list[object]]:
    rng = np.random.default_rng(11)
    reference = from_values(rng.lognormal(0, 0.7, 5000))
    windows = [from_values(rng.lognormal(0, 0.7, 1000)) for _ in range(WINDOWS)]
    return reference, windows


@pytest.mark.parametrize("method", ["wasserstein", "psi", "jensenshannon", "hellinger"])
def test_distances_rarely_flag_identical_numeric_distributions(
    numeric: tuple[object, list[object]], method: str
) -> None:
    reference, windows = numeric
    assert _rate(method, reference, windows) <= DISTANCE_RATE


@pytest.mark.parametrize("method", ["jensenshannon", "psi", "hellinger"])
def test_distances_rarely_flag_identical_categories(method: str) -> None:
    rng = np.random.default_rng(12)
    labels = [f"class_{i}" for i in range(8)]
    probs = np.linspace(1, 3, 8) / np.linspace(1, 3, 8).sum()
    reference = categorical_counts(rng.choice(labels, 5000, p=probs))
    windows = [categorical_counts(rng.choice(labels, 1000, p=probs)) for _ in range(WINDOWS)]
    assert _rate(method, reference, windows) <= DISTANCE_RATE


def test_ks_fires_at_most_at_its_nominal_level(numeric: tuple[object, list[object]]) -> None:
    rng = np.random.default_rng(13)
    reference = from_values(rng.lognormal(0, 0.7, 800))
    windows = [from_values(rng.lognormal(0, 0.7, 500)) for _ in range(WINDOWS)]
    # Binning only lowers the statistic, so the test is conservative: ≤ 5 % + 2 standard errors.
    assert _rate("ks", reference, windows) <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / WINDOWS)
