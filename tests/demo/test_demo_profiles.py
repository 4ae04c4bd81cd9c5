"""The demo's profiles: real latency and predictions of its ONNX models, simulated power said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewatch.demo._model import V2, load_models
from edgewatch.demo._profiles import demo_profiles

pytest.importorskip("onnxruntime")


def test_a_profile_per_hardware_label_with_simulated_energy(tmp_path: Path) -> None:
    models = load_models(tmp_path / "models", versions=(V2,))
    found = list(demo_profiles(models, versions=(V2,), hardware=("rpi4", "x86-gateway"), runs=20))
    assert [(v, label) for v, label, _ in found] == [(V2, "rpi4"), (V2, "x86-gateway")]
    watts = {}
    for _, label, report in found:
        assert report.hardware["class"] == label
        assert report.latency.runs == 20 and report.predictions.accuracy is not None
        best = report.energy.best
        assert best is not None and best.source == "simulated"
        assert best.note.startswith("simulated power, not a measurement")
        assert [t.source for t in report.energy.tried] == ["simulated"]
        assert report.energy.joules_per_inference is not None
        watts[label] = best.watts
    # The simulated x86 gateway draws 15-30 W, a Raspberry Pi 4 3-6 W.
    assert 3.0 <= watts["rpi4"] <= 6.0 <= 15.0 <= watts["x86-gateway"] <= 30.0
