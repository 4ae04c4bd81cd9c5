"""Baselines through the REST API and the CLI: profiling matches numpy, every validation
error names its column (and row), pinned production windows, list/show/delete."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from alerting_harness import AlertingServer, alerting_server, batch, drift_rules, poll

MODEL = {"model": "classifier", "version": "1.0.0"}


@pytest.fixture
def server(tmp_path: Path) -> Any:
    with alerting_server(tmp_path, drift_rules([]), max_baseline_bytes=200_000) as s:
        yield s


def _upload(server: AlertingServer, name: str, data: bytes, **params: str) -> httpx.Response:
    return server.post(
        "/api/v1/baselines",
        params=params or MODEL,
        files={"file": (name, data, "application/octet-stream")},
    )


def _frame(rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    f00 = rng.normal(0, 1, rows)
    f00[::50] = np.nan
    return pd.DataFrame(
        {
            "f00": f00,
            "f01": rng.exponential(2.0, rows),
            "colour": rng.choice(["red", "green", "blue"], rows),
            "prediction": rng.integers(0, 3, rows),
            "score": rng.uniform(0.5, 1.0, rows),
        }
    )


def test_profile_matches_numpy_and_list_show_delete(server: AlertingServer) -> None:
    frame = _frame()
    r = _upload(server, "ref.csv", frame.to_csv(index=False).encode())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["rows"] == 500
    assert created["features"] == ["f00", "f01", "colour"]
    summary = {s["feature"]: s for s in created["summary"]}
    for name in ("f00", "f01"):
        values = frame[name].to_numpy()
        finite = values[~np.isnan(values)]
        assert summary[name]["count"] == finite.size
        assert summary[name]["missing"] == values.size - finite.size
        assert summary[name]["mean"] == pytest.approx(finite.mean(), rel=1e-9)
        assert summary[name]["p50"] == pytest.approx(np.quantile(finite, 0.5), rel=1e-9)
        assert summary[name]["p95"] == pytest.approx(np.quantile(finite, 0.95), rel=1e-9)
    assert summary["f00"]["missing"] == 10
    assert summary["colour"]["count"] == 500 and summary["colour"]["mean"] is None
    assert summary["prediction"]["kind"] == "prediction"
    assert summary["score"]["mean"] == pytest.approx(frame["score"].mean(), rel=1e-9)

    parquet = frame.to_parquet(index=False)
    second = _upload(server, "ref.parquet", parquet, model="classifier", version="2.0.0")
    assert second.status_code == 201, second.text

    listed = server.get("/api/v1/baselines")["baselines"]
    assert [b["version"] for b in listed] == ["2.0.0", "1.0.0"]  # newest first
    assert all(b["source"] == "upload" for b in listed)
    shown = server.get(f"/api/v1/baselines/{created['id']}")
    assert shown["summary"] == created["summary"]
    gone = httpx.delete(f"{server.url}/api/v1/baselines/{created['id']}", headers=server.headers())
    assert gone.status_code == 200
    missing = httpx.get(f"{server.url}/api/v1/baselines/{created['id']}", headers=server.headers())
    assert missing.status_code == 404


def _errors(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


def test_each_validation_error_names_column_and_row(server: AlertingServer) -> None:
    text = "f00,f01\n1.0,2.0\n3.0,oops\n4.0,5.0\n"
    [err] = _errors(_upload(server, "ref.csv", text.encode()))
    assert err["column"] == "f01" and err["row"] == 2 and "'oops'" in err["message"]

    empty_col = "f00,f01\n1.0,\n2.0,\n"
    [err] = _errors(_upload(server, "ref.csv", empty_col.encode()))
    assert err["column"] == "f01" and "empty" in err["message"]

    mostly_nan = "f00,f01\n" + "".join(f"{i},\n" for i in range(8)) + "1,2\n1,2\n"
    [err] = _errors(_upload(server, "ref.csv", mostly_nan.encode()))
    assert err["column"] == "f01" and "80%" in err["message"]

    [err] = _errors(_upload(server, "ref.csv", b"f00,f01\n"))
    assert "no data rows" in err["message"]

    [err] = _errors(_upload(server, "ref.parquet", b"PAR1 this is not parquet"))
    assert "cannot read" in err["message"]

    too_big = _upload(server, "ref.csv", b"f00\n" + b"1.0\n" * 60_000)
    assert too_big.status_code == 413
    assert "exceeds 200000 bytes" in too_big.json()["detail"]
    declared_too_big = _upload(server, "ref.csv", b"f00\n" + b"1.0\n" * 100_000)
    assert declared_too_big.status_code == 413  # refused on Content-Length alone
    assert "upload of" in declared_too_big.json()["detail"]

    # Once devices report features, the file must match them, and types must agree.
    server.send(batch("dev-a"))
    reported = "f00,f01,f02,extra\n" + "1,2,3,4\n" * 5
    errors = _errors(_upload(server, "ref.csv", reported.encode()))
    by_column = {e["column"]: e["message"] for e in errors}
    assert "not a feature the devices of this model report" in by_column["extra"]
    assert "missing from the file" in by_column["f03"]
    typed = "f00,f01,f02,f03\n" + "1,2,3,4\n1,2,x,4\n"
    [err] = _errors(_upload(server, "ref.csv", typed.encode()))
    assert err == {
        "column": "f02",
        "row": 2,
        "message": "column 'f02' must be numeric, as devices report it, but holds text "
        "(first at row 2: 'x')",
    }


def test_latency_column_is_the_versions_latency_reference(server: AlertingServer) -> None:
    frame = _frame()
    frame["latency_s"] = np.random.default_rng(4).lognormal(np.log(0.02), 0.2, len(frame))
    r = _upload(server, "ref.csv", frame.to_csv(index=False).encode())
    assert r.status_code == 201, r.text
    assert "latency_s" not in r.json()["features"]
    summary = {s["feature"]: s for s in r.json()["summary"]}
    latency = summary["ml.inference.duration"]
    assert latency["kind"] == "metric" and latency["count"] == len(frame)
    assert latency["p95"] == pytest.approx(np.quantile(frame["latency_s"], 0.95), rel=1e-9)

    frame.loc[3, "latency_s"] = -0.001
    [err] = _errors(_upload(server, "ref.csv", frame.to_csv(index=False).encode()))
    assert err == {
        "column": "latency_s",
        "row": 4,
        "message": "column 'latency_s' must hold seconds >= 0, got -0.001",
    }


def test_pin_production_window(server: AlertingServer) -> None:
    now = time.time()
    for i in range(5):
        server.send(batch("dev-a", end_s=now - 10 + i, seed=i))
    poll(lambda: server.get("/api/v1/devices")["devices"])
    body = {
        **MODEL,
        "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        "to": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 1)),
    }
    r = server.post("/api/v1/baselines/pin", json=body)
    assert r.status_code == 201, r.text
    pinned = r.json()
    assert pinned["source"] == "window"
    assert pinned["features"] == ["f00", "f01", "f02", "f03"]
    summary = {s["feature"]: s for s in pinned["summary"]}
    assert summary["f00"]["count"] == 5 * 400
    assert summary["ml.inference.duration"]["kind"] == "metric"
    nothing = server.post("/api/v1/baselines/pin", json={**body, "device": "dev-b"})
    assert nothing.status_code == 400
    assert "reported no feature values" in nothing.json()["detail"]
    backwards = server.post("/api/v1/baselines/pin", json={**body, "from": body["to"]})
    assert backwards.status_code == 400


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgewatch.server.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_upload_list_delete(server: AlertingServer, tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    _frame().to_csv(path, index=False)
    remote = ("--server", server.url, "--token", server.tokens.admin)
    up = _cli(
        "baseline", "upload", str(path), "--model", "classifier", "--version", "1.0.0", *remote
    )
    assert up.returncode == 0, up.stderr
    baseline_id = up.stdout.split("\t")[0]
    listed = _cli("baseline", "list", *remote)
    assert baseline_id in listed.stdout and "500 rows" in listed.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("f00,f01\n1,\n2,\n")
    failed = _cli("baseline", "upload", str(bad), "--model", "m", "--version", "v", *remote)
    assert failed.returncode == 1
    assert "column 'f01' is empty" in failed.stderr
    gone = _cli("baseline", "delete", baseline_id, *remote)
    assert gone.returncode == 0 and baseline_id in gone.stdout
    no_token = _cli("baseline", "list", "--server", server.url, "--token", "")
    assert no_token.returncode == 1 and "admin token" in no_token.stderr


def test_a_405_on_pin_names_only_the_methods_of_pin(server: AlertingServer) -> None:
    """``/pin`` is its own resource, as the OpenAPI document matches a concrete path before
    ``/{baseline_id}``: its 405 allows POST only, while ``/{baseline_id}`` keeps its own."""
    pin = httpx.request("OPTIONS", f"{server.url}/api/v1/baselines/pin", headers=server.headers())
    one = httpx.put(f"{server.url}/api/v1/baselines/0123456789abcdef", headers=server.headers())
    assert (pin.status_code, pin.headers["allow"]) == (405, "POST")
    assert (one.status_code, one.headers["allow"]) == (405, "DELETE, GET")
