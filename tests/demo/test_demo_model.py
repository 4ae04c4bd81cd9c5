"""The demo's model: trained on the bundled digits, converted to ONNX, cached, deterministic."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edgewatch.demo import (
    BASELINE_COLUMNS,
    CLASSES,
    FEATURE_NAMES,
    V1,
    V2,
    V2_BAD,
    WITHHELD_DIGIT,
    ModelSet,
    load_models,
    write_baselines,
)
from edgewatch.demo._model import corrupt_labels, model_path, train_sklearn


def test_feature_names_are_the_64_pixels() -> None:
    assert FEATURE_NAMES[0] == "px00" and FEATURE_NAMES[-1] == "px63" and len(FEATURE_NAMES) == 64
    assert WITHHELD_DIGIT not in CLASSES


@pytest.mark.parametrize("version", [V1, V2, V2_BAD])
def test_onnx_predictions_match_scikit_learn(models: ModelSet, version: str) -> None:
    data = models.data
    estimator = train_sklearn(version, data, seed=7)
    expected = estimator.predict(data.test_x)
    labels, scores = models[version].predict(data.test_x)
    assert np.mean(labels == expected) >= 0.99
    proba = estimator.predict_proba(data.test_x)
    np.testing.assert_allclose(scores, proba.max(axis=1), atol=1e-4)


@pytest.mark.parametrize("version", [V1, V2])
def test_good_versions_are_accurate_and_confident(models: ModelSet, version: str) -> None:
    labels, scores = models[version].predict(models.data.test_x)
    assert np.mean(labels == models.data.test_y) >= 0.95
    assert float(np.mean(scores)) >= 0.9


def test_bad_rollout_version_is_clearly_worse(models: ModelSet) -> None:
    test_x, test_y = models.data.test_x, models.data.test_y
    good_labels, good_scores = models[V2].predict(test_x)
    bad_labels, bad_scores = models[V2_BAD].predict(test_x)
    # Ten points: the rollout gate's accuracy fail margin is one (40 % corrupted labels cost
    # the logistic regression 13 points and nearly all its confidence).
    assert np.mean(bad_labels == test_y) <= np.mean(good_labels == test_y) - 0.1
    # The confidence histogram moves: far more predictions below 0.9.
    assert np.mean(bad_scores < 0.9) >= 3 * np.mean(good_scores < 0.9)


def test_models_never_predict_the_withheld_digit(models: ModelSet) -> None:
    for version in (V1, V2, V2_BAD):
        labels, _ = models[version].predict(models.data.unseen_x)
        assert set(labels.tolist()) <= set(CLASSES)
    assert len(models.data.unseen_x) > 100
    assert WITHHELD_DIGIT not in set(models.data.train_y.tolist())


def test_v2_is_more_accurate_and_confident_than_v1(models: ModelSet) -> None:
    """The demo's good rollout: v2 (all the training data) beats v1 (half of it) by a point or
    more of accuracy, at the same cost per inference (the same model)."""
    test_x, test_y = models.data.test_x, models.data.test_y
    v1_labels, v1_scores = models[V1].predict(test_x)
    v2_labels, v2_scores = models[V2].predict(test_x)
    assert np.mean(v2_labels == test_y) >= np.mean(v1_labels == test_y) + 0.01
    assert float(np.mean(v2_scores)) >= float(np.mean(v1_scores))


def test_v1_and_v2_are_different_models(models: ModelSet) -> None:
    assert models[V1].path.read_bytes() != models[V2].path.read_bytes()
    p1 = models[V1].predict_proba(models.data.test_x)
    p2 = models[V2].predict_proba(models.data.test_x)
    assert not np.allclose(p1, p2, atol=1e-3)


def test_models_are_cached_and_not_retrained(models: ModelSet) -> None:
    cache_dir = models[V1].path.parent
    before = {p.name: p.stat().st_mtime_ns for p in cache_dir.glob("*.onnx")}
    again = load_models(cache_dir, seed=7)
    assert {p.name: p.stat().st_mtime_ns for p in cache_dir.glob("*.onnx")} == before
    assert again[V2].path == models[V2].path
    assert len(before) == 3


def test_training_is_deterministic_for_a_seed(models: ModelSet, tmp_path: Path) -> None:
    fresh = load_models(tmp_path, seed=7, versions=(V2,))
    assert fresh[V2].path.read_bytes() == models[V2].path.read_bytes()
    assert model_path(tmp_path, V2, 7) != model_path(tmp_path, V2, 8)


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model version 'v3'"):
        load_models(tmp_path, versions=("v3",))


def test_corrupt_labels_changes_the_stated_share_to_other_classes() -> None:
    y = np.repeat(np.asarray(CLASSES, dtype=np.int64), 200)
    bad = corrupt_labels(y, 0.4, seed=1)
    changed = bad != y
    assert 0.36 <= changed.mean() <= 0.44
    assert set(bad.tolist()) <= set(CLASSES)


def test_csv_baselines_hold_held_out_features_predictions_and_labels(
    models: ModelSet, tmp_path: Path
) -> None:
    paths = write_baselines(models, tmp_path)
    assert set(paths) == {V1, V2}
    with paths[V1].open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == BASELINE_COLUMNS
    assert len(rows) - 1 == len(models.data.test_x)
    first = np.asarray([float(v) for v in rows[1][:64]])
    np.testing.assert_array_equal(first, models.data.test_x[0])
    labels, _ = models[V1].predict(models.data.test_x)
    assert [int(r[64]) for r in rows[1:]] == labels.tolist()
    assert [int(r[66]) for r in rows[1:]] == models.data.test_y.tolist()
    latencies = [float(r[67]) for r in rows[1:]]
    assert all(0 < s < 1 for s in latencies)  # one image's measured inference, in seconds


def test_parquet_baselines_read_back(models: ModelSet, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    paths = write_baselines(models, tmp_path, fmt="parquet")
    table = pq.read_table(paths[V2])
    assert tuple(table.column_names) == BASELINE_COLUMNS
    assert table.num_rows == len(models.data.test_x)
    labels, _ = models[V2].predict(models.data.test_x)
    assert table.column("prediction").to_pylist() == labels.tolist()


def test_unknown_baseline_format_is_refused(models: ModelSet, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'csv' or 'parquet'"):
        write_baselines(models, tmp_path, fmt="json")  # type: ignore[arg-type]
