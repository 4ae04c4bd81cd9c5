"""``/api/v1/reports/drift`` and ``edgewatch report``: Evidently reports of sampled rows."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sampling_wire import headers, sample_body, server_with

from edgewatch.collector import semconv
from edgewatch.server.cli import main
from edgewatch.server.evidence import (
    ReportRequest,
    build_drift_report,
    report_path_for_alert,
    save_reference_sample,
)
from edgewatch.server.store import SampleSet

DRIFT_URL = "/api/v1/reports/drift"


def _reference(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "px0": rng.normal(0.0, 1.0, n),
            "px1": rng.normal(5.0, 1.0, n),
            "color": rng.choice(["red", "blue"], n),
            "prediction": rng.choice(["3", "7"], n),
        }
    )


def _send_current(server, n: int, shift: float) -> None:
    rng = np.random.default_rng(1)
    rows = [
        {"px0": float(a), "px1": float(b), "color": str(c)}
        for a, b, c in zip(
            rng.normal(shift, 1.0, n),
            rng.normal(5.0, 1.0, n),
            rng.choice(["red", "blue"], n),
            strict=True,
        )
    ]
    with httpx.Client(base_url=server.url) as client:
        r = client.post(
            semconv.LOGS_PATH,
            content=sample_body("dev-a", rows),
            headers=headers(server.tokens.device_a),
        )
    assert r.status_code == 200


def _html_drift_table(page: str) -> dict[str, str]:
    """Evidently's drift table as embedded in the HTML: each row's column and its verdict."""
    table = {}
    for match in re.finditer(r'"column_name": "([^"]+)"', page):
        verdict = re.search(r'"data_drift": "(Detected|Not Detected)"', page[match.end() :])
        if verdict is not None and match.group(1) not in table:
            table[match.group(1)] = verdict.group(1)
    return table


def _drifted_columns(snapshot: dict) -> dict[str, bool]:
    """Evidently's per-column verdicts: p-value methods drift below the threshold, distances above."""
    verdicts = {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = float(metric["value"]), float(config["threshold"])
            p_value = "p_value" in config["method"]
            verdicts[config["column"]] = value < threshold if p_value else value > threshold
    return verdicts


def test_report_shows_the_drifted_feature(live_server) -> None:
    save_reference_sample(live_server.store.samples, "digits", "v1", _reference(400))
    _send_current(live_server, 200, shift=3.0)
    r = httpx.get(
        f"{live_server.url}{DRIFT_URL}",
        params={"model": "digits", "version": "v1", "device": "dev-a", "from": time.time() - 3600},
        headers=live_server.admin(),
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["X-Edgewatch-Reference-Rows"] == "400"
    assert r.headers["X-Edgewatch-Current-Rows"] == "200"
    assert "reference rows 400" in r.text and "current rows 200" in r.text
    assert _html_drift_table(r.text) == {
        "px0": "Detected",
        "px1": "Not Detected",
        "color": "Not Detected",
        "prediction": "Detected",  # every current row predicted "3"; the reference mixes 3 and 7
    }
    assert "Drift is detected for 50.0% of columns (2 out of 4)" in r.text


def test_snapshot_has_evidently_drift_table_for_the_drifted_feature() -> None:
    ref, cur = _reference(500), _reference(300, seed=2)
    cur["px0"] += 3.0
    as_set = lambda f: SampleSet(  # noqa: E731
        len(f), f.drop(columns="prediction").to_dict("records"), list(f["prediction"])
    )
    report = build_drift_report(
        ReportRequest(
            "digits",
            "v1",
            None,
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(1970, 1, 1, 1, tzinfo=UTC),
        ),
        as_set(ref),
        as_set(cur),
        min_rows=30,
        remedy="",
    )
    assert _drifted_columns(report.snapshot) == {
        "px0": True,
        "px1": False,
        "color": False,
        "prediction": False,
    }
    drifted = next(
        m for m in report.snapshot["metrics"] if "DriftedColumnsCount" in m["metric_name"]
    )
    assert drifted["value"]["count"] == 1.0
    assert (report.reference_rows, report.current_rows) == (500, 300)


def test_an_alerts_report_link_opens_its_report(live_server) -> None:
    save_reference_sample(live_server.store.samples, "digits", "v1", _reference(100))
    _send_current(live_server, 40, shift=0.0)
    now = time.time()
    path = report_path_for_alert(
        {"model": "digits", "version": "v1", "device": "dev-a"}, now - 3600, now + 60
    )
    assert path is not None and report_path_for_alert({"device": "dev-a"}, 0, 1) is None
    r = httpx.get(f"{live_server.url}{path}", headers=live_server.admin(), timeout=120)
    assert r.status_code == 200
    assert r.headers["X-Edgewatch-Current-Rows"] == "40"


def test_too_few_rows_is_a_422_that_says_how_to_get_more(live_server) -> None:
    save_reference_sample(live_server.store.samples, "digits", "v1", _reference(100))
    _send_current(live_server, 5, shift=0.0)
    r = httpx.get(
        f"{live_server.url}{DRIFT_URL}",
        params={"model": "digits", "version": "v1", "device": "dev-a"},
        headers=live_server.admin(),
    )
    assert r.status_code == 422
    body = r.json()
    assert body["current_rows"] == 5 and body["reference_rows"] == 100
    assert body["needed_rows"] == 30
    assert "edgewatch sampling raise --device dev-a" in body["how_to_get_more"]
    assert "5 sampled rows" in body["detail"]


def test_bad_windows_and_missing_auth(live_server) -> None:
    with httpx.Client(base_url=live_server.url, headers=live_server.admin()) as client:
        backwards = client.get(
            DRIFT_URL, params={"model": "m", "version": "v", "from": 200, "to": 100}
        )
        garbage = client.get(DRIFT_URL, params={"model": "m", "version": "v", "from": "yesterday"})
        no_model = client.get(DRIFT_URL, params={"version": "v"})
    device = httpx.get(
        f"{live_server.url}{DRIFT_URL}",
        params={"model": "m", "version": "v"},
        headers={"Authorization": f"Bearer {live_server.tokens.device_a}"},
    )
    assert backwards.status_code == 400 and "after" in backwards.json()["detail"]
    assert garbage.status_code == 400 and "RFC 3339" in garbage.json()["detail"]
    assert no_model.status_code == 422
    assert device.status_code == 403


def test_reference_sample_is_bounded(live_server) -> None:
    kept = save_reference_sample(live_server.store.samples, "digits", "v2", _reference(12_000))
    stored = live_server.store.samples.reference("digits", "v2", limit=20_000)
    assert kept == stored.total == 10_000
    assert set(stored.features[0]) == {"px0", "px1", "color"}


def test_a_baseline_upload_keeps_a_bounded_reference_sample(tmp_path: Path) -> None:
    frame = _reference(200)
    frame["prediction"] = frame["prediction"].astype(float)  # 3.0 in the file, "3" on devices
    with server_with(tmp_path, reference_sample_rows=50) as server:
        r = httpx.post(
            f"{server.url}/api/v1/baselines",
            params={"model": "digits", "version": "v1"},
            files={"file": ("ref.csv", frame.to_csv(index=False).encode(), "text/csv")},
            headers=server.admin(),
        )
        assert r.status_code == 201, r.text
        kept = server.store.samples.reference("digits", "v1", limit=1000)
    assert kept.total == 50
    assert set(kept.features[0]) == {"px0", "px1", "color"}
    assert set(kept.predictions) <= {"3", "7"}


def test_cli_writes_the_report(
    live_server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_reference_sample(live_server.store.samples, "digits", "v1", _reference(200))
    _send_current(live_server, 60, shift=3.0)
    out = tmp_path / "report.html"
    code = main(
        [
            "report", "--model", "digits", "--version", "v1", "--device", "dev-a",
            "--from", "2020-01-01T00:00:00Z", "--out", str(out),
            "--server", live_server.url, "--token", live_server.tokens.admin,
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "reference rows 200, current rows 60" in captured.out
    assert "current rows 60" in out.read_text()
    missing = main(
        ["report", "--model", "digits", "--version", "v9", "--out", str(tmp_path / "x.html"),
         "--server", live_server.url, "--token", live_server.tokens.admin]
    )  # fmt: skip
    assert missing == 1 and "HTTP 422" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
