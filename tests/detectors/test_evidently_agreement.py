"""Our ``drift(method="auto")`` against Evidently 0.7's DataDriftPreset on the same data:
same method, same verdict per column, scores within the bounds binning explains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgewatch.detectors import (
    DriftResult,
    Verdict,
    categorical_counts,
    dataset_drift,
    drift,
    from_values,
)

evidently = pytest.importorskip("evidently")
from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}
P_VALUE_METHODS = {"ks", "chisquare", "z"}


def _columns(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames: one column per case, drifted ones prefixed ``drift_``."""
    rng = np.random.default_rng(seed)

    def bimodal(weight: float, size: int) -> np.ndarray:
        left = rng.random(size) < weight
        return np.where(left, rng.normal(-3, 1, size), rng.normal(3, 1, size))

    cats = np.array(["cat", "dog", "bird", "fish"])
    ref = pd.DataFrame(
        {
            "normal": rng.normal(0, 1, n),
            "lognormal": rng.lognormal(0, 1, n),
            "bimodal": bimodal(0.5, n),
            "offset": rng.normal(100, 1, n),
            "category": rng.choice(cats, n, p=[0.4, 0.3, 0.2, 0.1]),
            "binary": rng.integers(0, 2, n),
            "drift_normal": rng.normal(0, 1, n),
            "drift_lognormal": rng.lognormal(0, 1, n),
            "drift_bimodal": bimodal(0.5, n),
            "drift_offset": rng.normal(100, 1, n),
            "drift_category": rng.choice(cats, n, p=[0.4, 0.3, 0.2, 0.1]),
            "drift_binary": (rng.random(n) < 0.3).astype(np.int64),
        }
    )
    cur = pd.DataFrame(
        {
            "normal": rng.normal(0, 1, n),
            "lognormal": rng.lognormal(0, 1, n),
            "bimodal": bimodal(0.5, n),
            "offset": rng.normal(100, 1, n),
            "category": rng.choice(cats, n, p=[0.4, 0.3, 0.2, 0.1]),
            "binary": rng.integers(0, 2, n),
            "drift_normal": rng.normal(0.6, 1, n),
            "drift_lognormal": rng.lognormal(0.5, 1, n),
            "drift_bimodal": bimodal(0.2, n),
            "drift_offset": rng.normal(100.8, 1.2, n),
            "drift_category": rng.choice(cats, n, p=[0.1, 0.2, 0.3, 0.4]),
            "drift_binary": (rng.random(n) < 0.6).astype(np.int64),
        }
    )
    return ref, cur


def _evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, tuple[str, float, float]]:
    """Column → (method, score, threshold) from Evidently's DataDriftPreset."""
    snapshot = Report([DataDriftPreset()]).run(cur, ref).dict()
    found = {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            found[config["column"]] = (
                EVIDENTLY_METHODS[config["method"]],
                float(metric["value"]),
                float(config["threshold"]),
            )
    return found


def _ours(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, DriftResult]:
    results = {}
    for column in ref.columns:
        if ref[column].dtype.kind == "f":
            results[column] = drift(from_values(ref[column]), from_values(cur[column]))
        else:
            results[column] = drift(
                categorical_counts(ref[column]), categorical_counts(cur[column])
            )
    return results


def _evidently_drifted(method: str, score: float, threshold: float) -> bool:
    if method == "ks":
        return score <= threshold
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


@pytest.mark.parametrize(
    ("rows", "seed"),
    [(300, 1), (1000, 2), (5000, 3), (50_000, 4)],
    ids=["small-300", "small-1000", "large-5000", "large-50000"],
)
def test_auto_verdicts_and_scores_match_evidently(rows: int, seed: int) -> None:
    ref, cur = _columns(rows, seed)
    theirs = _evidently(ref, cur)
    ours = _ours(ref, cur)
    assert set(theirs) == set(ours)
    for column, (method, score, threshold) in theirs.items():
        mine = ours[column]
        assert mine.method == method, column
        assert mine.threshold == threshold, column
        assert (mine.verdict is Verdict.DRIFT) == _evidently_drifted(method, score, threshold), (
            column,
            mine.explanation,
            score,
        )
        if column.startswith("drift_"):
            assert mine.verdict is Verdict.DRIFT, mine.explanation
        elif method not in P_VALUE_METHODS:  # tests at p < 0.05 false-alarm 5 % by design
            assert mine.verdict is Verdict.NO_DRIFT, mine.explanation
        if method == "wasserstein":
            assert mine.binning_error is not None
            assert abs(mine.score - score) <= mine.binning_error, column
            # In practice the bucket errors cancel: far inside the worst-case bound.
            assert abs(mine.score - score) <= 0.01 + 0.02 * score, column
        elif method == "ks":
            assert mine.p_value is not None
        else:  # categorical methods see exact counts: the same numbers
            assert mine.score == pytest.approx(score, rel=1e-6, abs=1e-9), column


def test_dataset_verdict_matches_evidentlys_drift_share() -> None:
    ref, cur = _columns(2000, 5)
    ours = dataset_drift(_ours(ref, cur))
    snapshot = Report([DataDriftPreset()]).run(cur, ref).dict()
    count = next(m for m in snapshot["metrics"] if "DriftedColumnsCount" in m["metric_name"])
    assert ours.drifted_share == pytest.approx(count["value"]["share"])
    assert ours.verdict is (Verdict.DRIFT if count["value"]["share"] >= 0.5 else Verdict.NO_DRIFT)
