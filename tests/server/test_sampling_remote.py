"""Remote sampling budgets: the config a device polls, operator and drift-alert raises."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from otlp_wire import collector_body, collector_headers, device_batch

from edgewatch.collector import Monitor, SamplingConfig, semconv
from edgewatch.contract import from_unix_s, parse_instant
from edgewatch.server.alert import Alert, AlertState
from edgewatch.server.cli import main
from edgewatch.server.evidence import DriftCapture


def _config(server, device: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}{semconv.CONFIG_PATH.format(device_id=device)}",
        headers={"Authorization": f"Bearer {token}"},
    )


def _alert(rule: str, **labels: str) -> Alert:
    now = datetime.now(UTC)
    return Alert(
        fingerprint="f" * 16,
        rule=rule,
        state=AlertState.FIRING,
        labels={"alertname": rule, **labels},
        annotations={},
        active_at=now,
        last_evaluated_at=now,
        fired_at=now,
    )


def _wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_device_reads_only_its_own_config(live_server) -> None:
    mine = _config(live_server, "dev-a", live_server.tokens.device_a)
    theirs = _config(live_server, "dev-b", live_server.tokens.device_a)
    admin = _config(live_server, "dev-b", live_server.tokens.admin)
    anonymous = httpx.get(f"{live_server.url}/api/v1/devices/dev-a/config")
    assert mine.status_code == 200
    assert mine.json()["sampling"] == {
        "enabled": True,
        "rows_per_hour": None,
        "bytes_per_day": None,
        "expires_at": None,
        "expires_at_unix": None,
        "reason": None,
    }
    assert theirs.status_code == 403 and "dev-a" in theirs.json()["detail"]
    assert admin.status_code == 200
    assert anonymous.status_code == 401


def test_operators_set_and_raise_budgets(live_server) -> None:
    url = f"{live_server.url}/api/v1/devices/dev-a/sampling"
    with httpx.Client(headers=live_server.admin()) as client:
        base = client.put(url, json={"enabled": True, "rows_per_hour": 30})
        raised = client.put(url, json={"rows_per_hour": 900, "for_s": 600, "reason": "look"})
        no_rows = client.put(url, json={"for_s": 600})
        negative = client.put(url, json={"rows_per_hour": -1})
        by_device = client.put(
            url,
            json={"rows_per_hour": 5},
            headers={"Authorization": f"Bearer {live_server.tokens.device_a}"},
        )
    assert base.status_code == 200 and base.json()["rows_per_hour"] == 30
    assert raised.status_code == 200
    assert raised.json()["rows_per_hour"] == 900 and raised.json()["reason"] == "look"
    expires = parse_instant(raised.json()["expires_at"]).timestamp()
    assert time.time() + 500 < expires < time.time() + 700
    assert raised.json()["expires_at_unix"] == pytest.approx(expires, abs=1e-3)  # deprecated
    assert no_rows.status_code == 400 and "rows_per_hour" in no_rows.json()["detail"]
    assert negative.status_code == 422
    assert by_device.status_code == 403
    # The raise ends by itself: the lasting budget is what remains afterwards.
    later = live_server.store.samples.setting("dev-a", now=from_unix_s(time.time() + 700))
    assert later.rows_per_hour == 30 and later.expires_at is None


def test_cli_raises_a_budget_for_a_time(live_server, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "sampling", "raise", "--device", "dev-b", "--rows-per-hour", "1200", "--for", "30m",
            "--server", live_server.url, "--token", live_server.tokens.admin,
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    sampling = _config(live_server, "dev-b", live_server.tokens.device_b).json()["sampling"]
    assert sampling["rows_per_hour"] == 1200
    assert (
        time.time() + 1700 < parse_instant(sampling["expires_at"]).timestamp() < time.time() + 1900
    )
    assert "until 20" in capsys.readouterr().out  # the end as RFC 3339
    bad = main(["sampling", "raise", "--device", "dev-b", "--rows-per-hour", "5", "--for", "soon"])
    assert bad == 2 and "invalid duration" in capsys.readouterr().err


def test_a_drift_alert_raises_the_version_and_the_device_polls_it(
    live_server, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        for device, token in (
            ("dev-a", live_server.tokens.device_a),
            ("dev-b", live_server.tokens.device_b),
        ):
            body = collector_body(device_batch(device, end_ns=time.time_ns(), features=2))
            assert (
                client.post(
                    semconv.METRICS_PATH, content=body, headers=collector_headers(token)
                ).status_code
                == 200
            )
    capture: DriftCapture = live_server.app.state.drift_capture
    hooks = live_server.app.state.on_firing  # what the alert scheduler calls on firing
    assert capture.on_drift_alert_firing in hooks
    assert capture.on_drift_alert_firing(_alert("DeviceOffline", device="dev-a")) == []
    monitor = Monitor(
        "classifier", "1.0.0", endpoint=live_server.url, token=live_server.tokens.device_a,
        device_id="dev-a", features=["px0", "px1"], spool_dir=tmp_path / "spool", samplers=[],
        sampling=SamplingConfig(rows_per_hour=10, poll_interval_s=1),
    )  # fmt: skip
    try:
        _wait_for(lambda: monitor.stats()["config.polls"] >= 1)
        assert monitor.stats()["samples.rows_per_hour"] == 10
        for hook in hooks:
            hook(_alert("FeatureDrift", model="classifier", version="1.0.0", feature="px0"))
        raised = [live_server.store.samples.setting(d) for d in ("dev-a", "dev-b")]
        assert all(s.rows_per_hour == capture.rows_per_hour for s in raised)
        assert all(s.expires_at is not None for s in raised)
        assert "FeatureDrift" in (raised[0].reason or "")
        _wait_for(lambda: monitor.stats()["samples.rows_per_hour"] == capture.rows_per_hour)
    finally:
        monitor.close()
