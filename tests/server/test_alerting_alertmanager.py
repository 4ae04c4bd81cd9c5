"""A real Alertmanager receives the running server's alerts with their labels and
fingerprints, and they leave it when the shift ends and the alerts resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from alerting_harness import Feeder, alerting_server, drift_rules, poll, upload_reference


def _active(url: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/v2/alerts", params={"active": "true"}, timeout=5)
    r.raise_for_status()
    alerts: list[dict[str, Any]] = r.json()
    return alerts


def test_server_alerts_reach_alertmanager_and_leave_on_resolve(
    tmp_path: Path, alertmanager: str
) -> None:
    rules = drift_rules([{"name": "am", "type": "alertmanager", "url": alertmanager}], for_s=0)
    with alerting_server(tmp_path, rules) as server:
        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0) as feeder:
            ours = poll(lambda: server.alerts(state="firing"))
            theirs = poll(lambda: _active(alertmanager))
            by_fp = {a["fingerprint"]: a for a in server.alerts(state="firing")}
            for alert in theirs:
                mine = by_fp[alert["fingerprint"]]  # the same fingerprint on both sides
                assert alert["labels"] == mine["labels"]
                assert alert["labels"]["alertname"] == "FeatureShift"
                assert alert["labels"]["model"] == "classifier"
                assert alert["generatorURL"] == (
                    f"http://dashboard.test:8501/alerts/{alert['fingerprint']}"
                )
            assert {a["fingerprint"] for a in ours} >= {a["fingerprint"] for a in theirs}
            feeder.shift = 0.0
            poll(lambda: server.alerts(state="resolved"))
            poll(lambda: not _active(alertmanager), timeout_s=30)
        delivered = server.get("/api/v1/deliveries", status="delivered")["deliveries"]
        assert delivered and all(d["receiver"] == "am" for d in delivered)
