"""The rollout gate's estimated accuracy against a real store: score histograms of each
device-hour and each version's own calibration (from a labelled baseline) → the verdict and
its evidence, for a fleet that sends no labels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from otlp_wire import device_batch, exp_metric, exp_point

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.detectors import GateOutcome, SignalResult, from_values
from edgewatch.server.api.rollouts import verdict_view
from edgewatch.server.gate import RolloutVerdict, rollout_verdict
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.performance import calibration_profile
from edgewatch.server.store import InvalidQueryError, Resolution, Selection, Store, StoreConfig

pytestmark = pytest.mark.timeout(120)

HOUR_S = 3600.0
T0 = datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()
HOURS = 6
NOW = datetime.fromtimestamp(T0 + HOURS * HOUR_S, UTC)
DEVICES = {"v1": ("a1", "a2", "a3"), "v2": ("b1", "b2", "b3")}


def _write(
    store: Store,
    device: str,
    version: str,
    end_s: float,
    rng: np.random.Generator,
    beta: tuple[float, float] = (8, 2),
) -> None:
    request = device_batch(
        device, end_ns=int(end_s * 1e9), features=1, inferences=800, errors=0,
        model_version=version, rng=rng,
    )  # fmt: skip
    start_ns = int((end_s - 60) * 1e9)
    metrics = request.resource_metrics[0].scope_metrics[0].metrics
    for i, metric in enumerate(metrics):
        if metric.name == semconv.PREDICTION_SCORE:  # Beta(8, 2) on both versions by default
            point = exp_point(from_values(rng.beta(*beta, 800)), start_ns, int(end_s * 1e9))
            metrics[i].CopyFrom(exp_metric(semconv.PREDICTION_SCORE, "1", [point]))
    batch = convert(
        request,
        received_s=end_s + 1.0,
        limits=IngestLimits(max_age_s=30 * 86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
    ).batch
    store.submit(batch).result(10)


def _baseline(store: Store, version: str, accuracy_drop: float, rng: np.random.Generator) -> None:
    """A labelled baseline of ``version``: right with probability score - ``accuracy_drop``."""
    scores = rng.beta(8, 2, 4000)
    right = rng.random(4000) < np.clip(scores - accuracy_drop, 0, 1)
    frame = pd.DataFrame(
        {"prediction": ["a"] * 4000, "score": scores, "label": np.where(right, "a", "b")}
    )
    profile = calibration_profile(frame)
    assert profile is not None
    store.baselines.create(
        model_name="classifier", model_version=version, source="test", rows=4000,
        features=[], profiles=[profile], now=NOW,
    )  # fmt: skip


def _fleet(store: Store, canary_beta: tuple[float, float] = (8, 2)) -> None:
    rng = np.random.default_rng(7)
    for k in range(HOURS):
        for version, devices in DEVICES.items():
            for d in devices:
                beta = canary_beta if version == "v2" else (8, 2)
                _write(store, d, version, T0 + k * HOUR_S + 1800, rng, beta)
    store.roll_up()


def _verdict(store: Store) -> tuple[RolloutVerdict, dict[str, SignalResult]]:
    v = rollout_verdict(store, "classifier", "v2", NOW, window_s=HOURS * HOUR_S, established="v1")
    (cls,) = v.result.classes
    return v, {s.signal: s for s in cls.signals}


def test_a_less_accurate_canary_fails_without_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    with Store.open(tmp_path / "g.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store)
        _baseline(store, "v1", 0.0, rng)
        _baseline(store, "v2", 0.12, rng)  # same scores, 12 points less often right
        v, signals = _verdict(store)
        s = signals["estimated_accuracy"]
        assert v.result.outcome is GateOutcome.FAIL
        assert s.outcome is GateOutcome.FAIL
        assert s.estimate == pytest.approx(0.12, abs=0.03)
        assert s.canary_device_hours == 3 * HOURS
        assert "accuracy" not in signals  # no labels: nothing measured
        (acc,) = v.accuracy
        assert acc.source == "estimated" and acc.value == pytest.approx(0.8 - 0.12, abs=0.03)
        shown = verdict_view(v).model_dump(mode="json")  # what GET /api/v1/rollouts answers
        (cls,) = shown["hardware_classes"]
        assert cls["accuracy_source"] == "estimated" and cls["notes"] == []
        assert cls["fleet_accuracy"] == pytest.approx(acc.value)
        assert f"{cls['hardware_class']}/estimated_accuracy" in shown["failed"]


def test_equally_accurate_versions_do_not_fail_on_the_estimate(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    with Store.open(tmp_path / "g.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store)
        _baseline(store, "v1", 0.0, rng)
        _baseline(store, "v2", 0.0, rng)
        _, signals = _verdict(store)
        s = signals["estimated_accuracy"]
        assert s.outcome is not GateOutcome.FAIL
        assert abs(s.estimate) < 0.03


def test_a_version_without_calibration_has_no_estimate_and_says_why(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    with Store.open(tmp_path / "g.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store)
        _baseline(store, "v1", 0.0, rng)  # v2 never got a labelled baseline
        v, signals = _verdict(store)
        assert "estimated_accuracy" not in signals
        (acc,) = v.accuracy
        assert acc.value is None and acc.source is None
        assert verdict_view(v).hardware_classes[0].notes == list(acc.notes)
        assert acc.notes == (
            "estimated_accuracy: no calibration for v2 (upload a baseline with a label column);"
            " the signal is left out",
        )


def test_histograms_by_period_equal_one_merged_histogram_per_device_and_hour(
    tmp_path: Path,
) -> None:
    """Oracle: ``merged_histogram`` of each device over each hour, one query apiece."""
    with Store.open(tmp_path / "g.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store)
        sel = Selection(model_name="classifier", model_version="v2")
        grouped = store.histograms_by_period(
            semconv.PREDICTION_SCORE, start=from_unix_s(T0), end=from_unix_s(T0 + HOURS * HOUR_S),
            period_s=HOUR_S,
            selection=sel,
        )  # fmt: skip
        assert set(grouped) == {
            (d, from_unix_s(T0 + k * HOUR_S)) for d in DEVICES["v2"] for k in range(HOURS)
        }
        for (device, start), h in grouped.items():
            one = store.merged_histogram(
                semconv.PREDICTION_SCORE, start=start, end=start + timedelta(seconds=HOUR_S),
                selection=replace(sel, device_id=device), resolution=Resolution.MINUTE,
            )  # fmt: skip
            assert (h.count, h.sum, h.scale) == (one.count, pytest.approx(one.sum), one.scale)
            assert h.bucket_counts()[2].tolist() == one.bucket_counts()[2].tolist()
        with pytest.raises(InvalidQueryError, match="minute"):
            store.histograms_by_period(
                semconv.PREDICTION_SCORE,
                start=from_unix_s(T0),
                end=from_unix_s(T0 + HOUR_S),
                period_s=1.0,
            )


def test_canary_scores_beyond_the_calibration_flag_the_estimate(tmp_path: Path) -> None:
    """Covariate shift shows as scores the baseline never had: the estimate is still judged,
    and the class says it may be wrong."""
    rng = np.random.default_rng(4)
    with Store.open(tmp_path / "g.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store, canary_beta=(1.5, 12))  # mostly below the baseline's lowest score
        _baseline(store, "v1", 0.0, rng)
        _baseline(store, "v2", 0.0, rng)
        v, signals = _verdict(store)
        assert "estimated_accuracy" in signals
        (acc,) = v.accuracy
        (note,) = acc.notes
        assert note.startswith("estimated_accuracy: ") and "of v2's scores lie beyond" in note
        assert "covariate shift" in note
