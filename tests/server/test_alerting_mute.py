"""Silences, acknowledgements and inhibition on a running server, through the REST API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from alert_http_sink import Sink
from alerting_harness import Feeder, alerting_server, drift_rules, poll, upload_reference, webhook


def test_silence_mutes_until_expired_and_ack_shows(tmp_path: Path, sink: Sink) -> None:
    with alerting_server(tmp_path, drift_rules([webhook(f"{sink.url}/hook")], for_s=0)) as server:
        upload_reference(server, tmp_path)
        r = server.post(
            "/api/v1/silences",
            json={
                "matchers": [{"name": "alertname", "value": "FeatureShift"}],
                "duration_s": 3600,
                "created_by": "ana",
                "comment": "planned sensor swap",
            },
        )
        assert r.status_code == 201, r.text
        silence = r.json()
        assert silence["status"] == "active"
        assert silence["matchers"] == [
            {"name": "alertname", "value": "FeatureShift", "is_regex": False, "is_equal": True}
        ]
        with Feeder(server, shift=2.0):
            alert = poll(lambda: server.alerts(state="firing"))[0]
            assert alert["silenced_by"] == [silence["id"]]
            time.sleep(1.5)  # several dispatch ticks and group intervals pass
            assert sink.received() == []  # silenced: nothing sent

            ack = server.post(
                f"/api/v1/alerts/{alert['fingerprint']}/ack",
                json={"author": "ana", "comment": "looking at the cameras"},
            )
            assert ack.status_code == 200, ack.text
            assert ack.json()["ack"]["author"] == "ana"
            shown = server.get(f"/api/v1/alerts/{alert['fingerprint']}")
            assert shown["ack"]["comment"] == "looking at the cameras"

            expired = httpx.delete(
                f"{server.url}/api/v1/silences/{silence['id']}", headers=server.headers()
            )
            assert expired.json()["status"] == "expired"
            again = httpx.delete(
                f"{server.url}/api/v1/silences/{silence['id']}", headers=server.headers()
            )
            # a conflict with the silence's state, not bad input (schemathesis' stateful phase)
            assert again.status_code == 409
            assert "already expired" in again.json()["detail"]
            poll(sink.received)  # the alert is no longer muted: the notification goes out
            body = json.loads(sink.received()[0].body)
            assert body["status"] == "firing"
        listed = server.get("/api/v1/silences")["silences"]
        assert [s["status"] for s in listed] == ["expired"]


def test_silence_and_ack_errors_are_named(tmp_path: Path) -> None:
    with alerting_server(tmp_path, drift_rules([])) as server:
        bad = server.post(
            "/api/v1/silences",
            json={
                "matchers": [{"name": "device", "value": ".*", "is_regex": True}],
                "duration_s": 60,
                "created_by": "ana",
                "comment": "all",
            },
        )
        assert bad.status_code == 422
        assert "would mute every alert" in bad.json()["detail"]
        both = server.post(
            "/api/v1/silences",
            json={
                "matchers": [{"name": "device", "value": "a"}],
                "created_by": "ana",
                "comment": "x",
            },
        )
        assert both.status_code == 422
        assert "exactly one of ends_at and duration_s" in both.text
        unknown = server.post("/api/v1/alerts/nope/ack", json={"author": "ana", "comment": ""})
        assert unknown.status_code == 404
        empty = server.post("/api/v1/alerts/nope/ack", json={"comment": "no author"})
        assert empty.status_code == 422
        missing = httpx.delete(f"{server.url}/api/v1/silences/nope", headers=server.headers())
        assert missing.status_code == 404
        assert httpx.get(f"{server.url}/api/v1/alerts").status_code == 401


def test_offline_device_mutes_its_drift_alert(tmp_path: Path, sink: Sink) -> None:
    offline = {
        "name": "DeviceOffline",
        "detector": "missing_heartbeat",
        # Offline after 6 s without a batch: the feeder sends every 0.25 s, and a send
        # delayed by load for 1.5 s (the limit before) raised DeviceOffline, and muted the
        # drift alert, while the device was still reporting.
        "params": {"missed_intervals": 3, "export_interval_s": 2.0},
        "scope": {"level": "device"},
        "signal": "edgewatch.device.last_seen",
        "interval": "1s",
        "threshold": ">= 3",
        "severity": "critical",
        "receivers": [],
    }
    rules = drift_rules(
        [webhook(f"{sink.url}/hook")], for_s=0, level="device", extra_rules=[offline]
    )
    rules["route"]["group_by"] = ["alertname", "device"]
    with alerting_server(tmp_path, rules) as server:
        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0):
            drift = poll(lambda: server.alerts(state="firing"))[0]
            assert drift["labels"]["device"] == "dev-a"
            assert drift["inhibited"] is False
        # The device stops reporting: DeviceOffline fires and mutes its drift alert.
        poll(lambda: server.alerts(state="firing", severity="critical"))
        muted = poll(
            lambda: [
                a
                for a in server.alerts(device="dev-a")
                if a["rule"] == "FeatureShift" and a["inhibited"]
            ]
        )[0]
        assert muted["state"] == "firing"  # an empty window keeps the state, never "resolved"
        offline_alert = server.alerts(severity="critical")[0]
        assert offline_alert["labels"]["device"] == "dev-a"
        assert offline_alert["value"] >= 3

        def latest_verdict() -> str:
            results = server.get("/api/v1/drift", device="dev-a")["results"]
            return str(results[-1]["verdict"])

        # Once the window holds no data, the result says so (never a zero or "no drift").
        poll(lambda: latest_verdict() == "insufficient_data")
        assert server.alerts(device="dev-a", state="firing")  # and the alert state is kept
