"""``/api/v1/performance`` end to end: a real collector sends predictions and late labels to a
live server; realized metrics equal sklearn's on the same labels, labels land in the window of
their inference, and a baseline uploaded with a label column calibrates the estimate."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from otlp_wire import collector_body, collector_headers, device_batch, kv, sum_metric
from server_harness import LiveServer
from sklearn.metrics import accuracy_score, f1_score

from edgewatch.collector import Monitor, semconv

CLASSES = ["a", "b", "c"]


def _monitor(tmp_path: Path, server: LiveServer) -> Monitor:
    return Monitor(
        "clf",
        "1.0",
        endpoint=server.url,
        token=server.tokens.device_a,
        device_id="dev-a",
        spool_dir=tmp_path / "spool",
        features=["f0", "f1"],
        classes=CLASSES,
        samplers=[],
        start=False,
    )


def _get(server: LiveServer, **params: Any) -> dict[str, Any]:
    r = httpx.get(
        f"{server.url}/api/v1/performance", params=params, headers=server.admin(), timeout=30
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _reference(rng: np.random.Generator, n: int) -> pd.DataFrame:
    score = rng.uniform(0.4, 1.0, n)
    truth = rng.choice(CLASSES, n)
    right = rng.uniform(size=n) < score
    wrong = np.array([CLASSES[(CLASSES.index(t) + 1) % 3] for t in truth])
    return pd.DataFrame(
        {
            "f0": rng.normal(size=n),
            "f1": rng.normal(size=n),
            "prediction": np.where(right, truth, wrong),
            "score": score,
            "label": truth,
        }
    )


def test_realized_equals_sklearn_and_late_labels_land_in_their_window(
    tmp_path: Path, live_server: LiveServer
) -> None:
    rng = np.random.default_rng(5)
    m = _monitor(tmp_path, live_server)
    t0 = time.time() - 1
    rows = _reference(rng, 400)
    ids = []
    for f0, f1, pred, score in rows[["f0", "f1", "prediction", "score"]].itertuples(index=False):
        with m.observe([f0, f1]) as obs:
            obs.prediction(pred, score=score)
        ids.append(obs.id)
    assert m.flush()
    t_mid = time.time()
    time.sleep(0.05)
    labelled = rng.choice(len(ids), 150, replace=False)
    for k in labelled:
        assert m.label(ids[k], rows["label"].iloc[k])
    assert m.flush()
    m.close()
    t1 = time.time() + 1

    first = _get(live_server, model_name="clf", start=t0, end=t_mid)
    y_true = rows["label"].to_numpy()[labelled]
    y_pred = rows["prediction"].to_numpy()[labelled]
    realized = first["total"]["realized"]
    assert first["task"] == "classification"
    assert first["total"]["inferences"] == 400
    assert first["total"]["labelled"] == 150
    assert first["total"]["coverage"] == pytest.approx(150 / 400)
    assert realized["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert realized["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12
    )
    assert realized["accuracy_low"] < realized["accuracy"] < realized["accuracy_high"]
    assert first["total"]["estimated"] is None  # no calibration yet
    later = _get(live_server, model_name="clf", start=t_mid, end=t1)
    assert later["total"]["labelled"] == 0, "labels count in their inference's window"
    assert [d["device_id"] for d in first["devices"]] == ["dev-a"]
    assert [v["model_version"] for v in first["versions"]] == ["1.0"]
    assert sum(r["labelled"] for r in first["series"]) == 150

    reference = _reference(np.random.default_rng(6), 3000)
    up = live_server.upload_baseline("clf", "1.0", reference)
    assert up.status_code == 201, up.text
    kinds = {s["kind"] for s in up.json()["summary"]}
    assert "calibration" in kinds
    calibrated = _get(live_server, model_name="clf", start=t0, end=t_mid)
    est = calibrated["total"]["estimated"]
    assert calibrated["calibrated_versions"] == ["1.0"]
    assert est["count"] == 400 and est["reliable"]
    assert est["low"] <= float(rows["score"].mean()) + 0.05
    assert abs(est["accuracy"] - rows["score"].mean()) < 0.06
    assert len(calibrated["labels"]) == 3 and sum(map(sum, calibrated["confusion"])) == 150

    compared = httpx.get(
        f"{live_server.url}/api/v1/versions/compare",
        params={
            "model": "clf",
            "a": "1.0",
            "b": "9.9",
            "from": datetime.fromtimestamp(t0, UTC).isoformat(),
            "to": datetime.fromtimestamp(t1, UTC).isoformat(),
        },
        headers=live_server.admin(),
        timeout=30,
    ).json()
    a, b = compared["accuracy"]["a"], compared["accuracy"]["b"]
    assert a["labelled"] == 150 and a["realized"] == pytest.approx(realized["accuracy"])
    assert a["estimated"] is not None and a["reference"] is not None
    assert b["realized"] is None and b["estimated"] is None


def test_evaluation_set_matches_sklearn_per_device_and_window(live_server: LiveServer) -> None:
    rng = np.random.default_rng(9)
    frame = _reference(rng, 600)
    frame["device"] = np.where(np.arange(600) % 3 == 0, "field-1", "field-2")
    frame["time"] = 1_700_000_000 + np.arange(600) * 10.0  # 100 minutes
    r = httpx.post(
        f"{live_server.url}/api/v1/performance/evaluate",
        params={"model": "clf", "version": "1.0", "step": 3000},
        files={"file": ("field.csv", frame.to_csv(index=False).encode(), "text/csv")},
        headers=live_server.admin(),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    total = body["total"]["realized"]
    assert total["accuracy"] == pytest.approx(
        accuracy_score(frame["label"], frame["prediction"]), abs=1e-12
    )
    assert body["total"]["coverage"] == 1.0 and body["total"]["estimated"] is None
    by_device = {d["device_id"]: d["realized"]["accuracy"] for d in body["devices"]}
    for device, part in frame.groupby("device"):
        assert by_device[device] == pytest.approx(accuracy_score(part["label"], part["prediction"]))
    assert [s["labelled"] for s in body["series"]] == [300, 300]
    bad = httpx.post(
        f"{live_server.url}/api/v1/performance/evaluate",
        params={"model": "clf", "version": "1.0"},
        files={"file": ("x.csv", frame.drop(columns=["label"]).to_csv(index=False).encode())},
        headers=live_server.admin(),
        timeout=30,
    )
    assert bad.status_code in (400, 422) and "label" in bad.text


def test_late_labels_land_in_their_window_after_a_restart_and_a_spool_replay(
    tmp_path: Path, live_server: LiveServer
) -> None:
    from live_server import free_port

    spool = tmp_path / "spool"
    t0 = time.time() - 1

    def monitor(endpoint: str) -> Monitor:
        return Monitor(
            "clf",
            "1.0",
            endpoint=endpoint,
            token=live_server.tokens.device_a,
            device_id="dev-a",
            spool_dir=spool,
            features=["f0", "f1"],
            classes=CLASSES,
            samplers=[],
            start=False,
            timeout_s=1.0,
        )

    first = monitor(live_server.url)
    ids = []
    for k in range(20):
        with first.observe([0.0, float(k)]) as obs:
            obs.prediction("a", score=0.9)
        ids.append(obs.id)
    assert first.flush()
    first.close()  # the device restarts
    t_mid = time.time()
    time.sleep(0.05)
    offline = monitor(f"http://127.0.0.1:{free_port()}")  # the server is unreachable now
    for i in ids[:12]:
        assert offline.label(i, "a" if i % 2 else "b")
    assert not offline.flush(timeout_s=1.0)  # the labels wait in the spool
    offline.close(timeout_s=1.0)
    replay = monitor(live_server.url)
    assert replay.flush(timeout_s=10.0)
    replay.close()

    inference_window = _get(live_server, model_name="clf", start=t0, end=t_mid)
    assert inference_window["total"]["inferences"] == 20
    assert inference_window["total"]["labelled"] == 12
    assert inference_window["total"]["realized"]["accuracy"] == pytest.approx(
        sum(1 for i in ids[:12] if i % 2) / 12
    )
    later = _get(live_server, model_name="clf", start=t_mid, end=time.time() + 1)
    assert later["total"]["labelled"] == 0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"\x00\xff\x13garbage\n\x01", 422, "cannot read x.csv as CSV or Parquet"),
        (b"", 422, "the file holds no columns"),
        (b"prediction,label\n", 400, "no row with both prediction and label"),
        (b"prediction,label,time\n1,1,yesterday\n", 400, "row 1: not a unix time"),
        (b"prediction,label,time\n1,1,1e300\n", 400, "outside the supported range"),
    ],
)
def test_a_bad_evaluation_set_is_a_client_error_naming_the_problem(
    live_server: LiveServer, body: bytes, status: int, message: str
) -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/performance/evaluate",
        params={"model": "clf", "version": "1.0"},
        files={"file": ("x.csv", body, "text/csv")},
        headers=live_server.admin(),
        timeout=30,
    )
    assert r.status_code == status, r.text
    assert message in r.text


def test_one_devices_huge_label_counts_leave_the_fleet_figures_answering(
    live_server: LiveServer,
) -> None:
    """Counts near 2**63 are valid OTLP; summed over cells they overflow int64. The fleet's
    and the device's performance still answer, with exact counts."""
    now = time.time_ns()
    batch = device_batch("dev-b", end_ns=now, inferences=5, features=2)
    big = 2**63 - 1
    batch.resource_metrics[0].scope_metrics[0].metrics.append(
        sum_metric(
            semconv.LABEL_COUNT,
            [
                (big, [kv(semconv.PREDICTION_CLASS, "a"), kv(semconv.LABEL_CLASS, "b")]),
                (big, [kv(semconv.PREDICTION_CLASS, "a"), kv(semconv.LABEL_CLASS, "a")]),
            ],
            now - 60 * 10**9,
            now - 10**9,
        )
    )
    sent = httpx.post(
        f"{live_server.url}/v1/metrics",
        content=collector_body(batch),
        headers=collector_headers(live_server.tokens.device_b),
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    for params in ({}, {"device_id": "dev-b"}):
        r = httpx.get(
            f"{live_server.url}/api/v1/performance",
            params=params,
            headers=live_server.admin(),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        realized = r.json()["total"]["realized"]
        assert realized["accuracy"] == pytest.approx(0.5)
