"""``edgewatch profile`` against the demo's real ONNX model on a small labelled sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgewatch.collector._profile import ProfileOptions, profile_model, read_outputs
from edgewatch.collector._profile_sample import SampleError, load_sample
from edgewatch.collector.profile import main, parse_duration_s

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's v1 digits model and a 120-row labelled sample of its test split."""
    from edgewatch.demo._model import V1, load_models

    root = tmp_path_factory.mktemp("profile")
    models = load_models(root / "models", versions=(V1,))
    sample = root / "sample.npz"
    np.savez(sample, x=models.data.test_x[:120], y=models.data.test_y[:120])
    return models[V1].path, sample


def test_profile_measures_latency_memory_predictions_and_accuracy(
    demo_model: tuple[Path, Path], tmp_path: Path
) -> None:
    model, sample_path = demo_model
    options = ProfileOptions(model, runs=40, warmup=5, soak_s=0.2, root=tmp_path)
    phases: set[str] = set()
    report = profile_model(options, load_sample(sample_path), lambda phase, d, t: phases.add(phase))
    assert phases == {"load", "predict", "warmup", "runs", "soak"}
    assert report.latency.runs == 40
    assert 0 < report.latency.p50_s <= report.latency.p95_s <= report.latency.p99_s
    assert sum(c for _, c in report.latency.histogram) == 40
    assert report.soak_latency is not None and report.soak_latency.runs > 0
    assert report.model_size_bytes == model.stat().st_size
    assert report.peak_rss_bytes > 0 and report.load_time_s > 0
    assert report.throughput_per_s > 0
    assert report.predictions.rows == 120
    assert sum(report.predictions.class_counts.values()) == 120
    assert "9" not in report.predictions.class_counts  # the withheld digit
    assert report.predictions.accuracy is not None and report.predictions.accuracy > 0.9
    assert 0.0 < report.predictions.score_quantiles["p50"] <= 1.0
    # An empty root: no power source, and the report says which were tried.
    assert report.energy.best is None and report.energy.joules_per_inference is None
    assert {t.status for t in report.energy.tried} == {"missing"}


def test_cli_writes_json_and_reads_csv_with_labels(
    demo_model: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, sample_path = demo_model
    with np.load(sample_path) as data:
        x, y = data["x"][:30], data["y"][:30]
    csv = tmp_path / "sample.csv"
    header = ",".join([*(f"px{i:02d}" for i in range(64)), "label"])
    rows = [",".join([*map(str, row), str(label)]) for row, label in zip(x, y, strict=True)]
    csv.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "report.json"
    argv = [str(model), "--inputs", str(csv), "--runs", "10", "--warmup", "1"]
    assert main([*argv, "--root", str(tmp_path), "--json", str(out), "--hardware", "rpi4"]) == 0
    table = capsys.readouterr().out
    assert "latency p50 / p95 / p99" in table
    assert "rapl missing" in table
    data = json.loads(out.read_text())
    assert data["hardware"]["class"] == "rpi4"
    assert data["latency"]["runs"] == 10
    assert data["predictions"]["labelled_rows"] == 30
    assert data["energy"]["joules_per_inference"] is None
    assert data["energy"]["tried"][0]["source"] == "rapl"


def test_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "sample.txt"
    bad.write_text("1,2\n")
    assert main([str(tmp_path / "none.onnx"), "--inputs", str(bad)]) == 2
    assert "unknown sample format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "m.onnx"), "--inputs", str(bad), "--upload"])


def test_read_outputs_softmaxes_logits_and_passes_regression_values() -> None:
    labels, scores = read_outputs([np.array([[2.0, 0.0], [-1.0, 1.0]], dtype=np.float32)])
    assert labels is not None and list(labels) == ["0", "1"]
    assert scores[0] == pytest.approx(np.exp(2) / (np.exp(2) + 1))
    labels, scores = read_outputs([np.array([[0.5], [1.5]], dtype=np.float32)])
    assert labels is None and list(scores) == [0.5, 1.5]


def test_samples_need_rows_and_numbers(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,label\n")
    with pytest.raises(SampleError, match="no rows"):
        load_sample(empty)
    text = tmp_path / "text.csv"
    text.write_text("a,label\nx,1\n")
    with pytest.raises(SampleError, match="not a number"):
        load_sample(text)
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "label": ["cat", "dog"]}), path)
    sample = load_sample(path)
    assert sample.features.shape == (2, 1)
    assert sample.labels is not None and list(sample.labels) == ["cat", "dog"]


def test_durations() -> None:
    assert parse_duration_s("5m") == 300.0
    assert parse_duration_s("1.5h") == 5400.0
    assert parse_duration_s("90") == 90.0
    with pytest.raises(ValueError):
        parse_duration_s("5 minutes")
