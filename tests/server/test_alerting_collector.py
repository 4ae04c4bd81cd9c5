"""Our collector SDK feeds a real server: a baseline uploaded as CSV (features, prediction,
score) is comparable with what the devices send, and a shift in the inputs and in the
predicted classes raises a feature-drift and a prediction-drift alert."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from alerting_harness import FEATURES, alerting_server, drift_rules, poll

from edgewatch.collector import Monitor


def _rows(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack([rng.normal(i + shift, 1.0, n) for i in range(len(FEATURES))])
    classes = np.where(x[:, 0] > 0.5, 1, 0)  # the model answers 1 when f00 is high
    return x, classes


def test_collector_shift_raises_feature_and_prediction_drift(tmp_path: Path) -> None:
    rules = drift_rules([], for_s=0)
    prediction = {
        **rules["rules"][0],
        "name": "PredictionShift",
        "detector": "jensenshannon",
        "params": {"threshold": 0.1, "min_samples": 100},
        "signal": "ml.prediction.class.count",
        "threshold": "> 0.1",
    }
    rules["rules"].append(prediction)
    with alerting_server(tmp_path, rules) as server:
        rng = np.random.default_rng(5)
        x, y = _rows(rng, 3000, 0.0)
        lines = [",".join([*FEATURES, "prediction", "score"])]
        lines += [
            ",".join([*(f"{v:.5f}" for v in row), str(c), "0.9"])
            for row, c in zip(x, y, strict=True)
        ]
        r = server.post(
            "/api/v1/baselines",
            params={"model": "classifier", "version": "1.0.0"},
            files={"file": ("ref.csv", "\n".join(lines).encode(), "text/csv")},
        )
        assert r.status_code == 201, r.text

        monitor = Monitor(
            "classifier",
            "1.0.0",
            endpoint=server.url,
            token=server.tokens.device_a,
            device_id="dev-a",
            features=list(FEATURES),
            classes=[0, 1],
            interval_s=0.25,
            spool_dir=tmp_path / "spool",
            samplers=[],
        )
        shift = {"value": 0.0}
        stop = threading.Event()

        def infer() -> None:
            while not stop.is_set():
                rows, labels = _rows(rng, 200, shift["value"])
                for row, label in zip(rows, labels, strict=True):
                    monitor.record(row, int(label), score=0.9, latency_s=0.01)
                stop.wait(0.05)

        thread = threading.Thread(target=infer, name="test-inference")
        thread.start()
        try:
            results = poll(lambda: [
                r for r in server.get("/api/v1/drift", model="classifier")["results"]
                if r["verdict"] != "insufficient_data"
            ])  # fmt: skip
            assert {r["verdict"] for r in results} == {"no_drift"}  # same distribution
            shift["value"] = 2.0
            # PSI crosses its threshold feature by feature as the 3 s window fills with
            # shifted rows: wait for every feature's alert, not only the first.
            poll(lambda: {
                (a["rule"], a["labels"].get("feature")) for a in server.alerts(state="firing")
            } >= {("FeatureShift", f) for f in FEATURES} | {("PredictionShift", None)})  # fmt: skip
        finally:
            stop.set()
            thread.join(10)
            monitor.close()
        alerts = server.alerts(state="firing")
        assert {a["labels"]["feature"] for a in alerts if a["rule"] == "FeatureShift"} == set(
            FEATURES
        )
        assert [a["labels"].get("feature") for a in alerts if a["rule"] == "PredictionShift"] == [
            None
        ]
