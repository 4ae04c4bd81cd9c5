"""End to end on a real server: OTLP with an injected feature shift → drift alert pending →
firing → a signed webhook verified with ``standardwebhooks`` → resolved after the shift ends."""

from __future__ import annotations

import json
from pathlib import Path

from alert_http_sink import Sink
from alerting_harness import (
    SECRET,
    Feeder,
    alerting_server,
    drift_rules,
    poll,
    reference_csv,
    webhook,
)
from standardwebhooks import Webhook


def test_shift_fires_signed_webhook_then_resolves(tmp_path: Path, sink: Sink) -> None:
    rules = drift_rules([webhook(f"{sink.url}/hook")])
    with alerting_server(tmp_path, rules) as server:
        csv = reference_csv(tmp_path / "ref.csv")
        r = server.post(
            "/api/v1/baselines",
            params={"model": "classifier", "version": "1.0.0"},
            files={"file": ("ref.csv", csv.read_bytes(), "text/csv")},
        )
        assert r.status_code == 201, r.text

        with Feeder(server, shift=0.0) as feeder:
            # Unshifted data: evaluations run and find no drift, so no alert.
            poll(lambda: server.get("/api/v1/drift", model="classifier")["results"])
            assert server.alerts() == []
            feeder.shift = 2.0
            alert = poll(lambda: server.alerts(state="firing"))[0]
            assert alert["labels"]["alertname"] == "FeatureShift"
            assert alert["labels"]["model"] == "classifier"
            assert alert["labels"]["version"] == "1.0.0"
            assert alert["labels"]["feature"] in {"f00", "f01", "f02", "f03"}
            assert alert["value"] > 0.2
            assert (
                alert["annotations"]["summary"]
                == f"{alert['labels']['feature']} drifted on classifier 1.0.0"
            )
            assert alert["annotations"]["description"] == ""  # always present

            def firing_notification() -> list[dict[str, object]]:
                bodies = [json.loads(q.body) for q in sink.requests]
                return [b for b in bodies if b["status"] == "firing"]

            note = poll(firing_notification)[0]
            request = sink.requests[0]
            # The reference implementation verifies our signature (raises if it does not).
            verified = Webhook(SECRET).verify(request.body, request.headers)
            assert verified["version"] == "4"
            assert note["receiver"] == "hook"
            assert {a["labels"]["alertname"] for a in note["alerts"]} == {"FeatureShift"}
            assert note["externalURL"] == "http://dashboard.test:8501"

            detail = server.get(f"/api/v1/alerts/{alert['fingerprint']}")
            assert detail["evidence"]["method"] == "psi"
            assert detail["evidence"]["verdict"] == "drift"
            assert detail["evidence"]["baseline"]["source"] == "upload"
            # Pending before firing (`for: 2s`), as the alert's history records it: polling
            # the list for a two-second state misses it when the test thread is starved.
            assert [h["state"] for h in detail["history"]][:2] == ["pending", "firing"]
            assert detail["dashboard_url"].startswith("http://dashboard.test:8501/")
            # Evidence: the report link, and the firing drift alert raised dev-a's sampling.
            assert detail["report_url"].startswith(
                "/api/v1/reports/drift?model=classifier&version=1.0.0&from="
            )
            config = server.get("/api/v1/devices/dev-a/config")["sampling"]
            assert config["rows_per_hour"] == 600 and "FeatureShift" in config["reason"]

            feeder.shift = 0.0

            def resolved_notification() -> list[dict[str, object]]:
                bodies = [json.loads(q.body) for q in sink.requests]
                return [b for b in bodies if b["status"] == "resolved"]

            resolved = poll(resolved_notification)[0]
            assert all(a["status"] == "resolved" for a in resolved["alerts"])
            assert all(a["endsAt"] != "0001-01-01T00:00:00Z" for a in resolved["alerts"])
            assert poll(lambda: server.alerts(state="resolved"))

        ids = [q.headers["webhook-id"] for q in sink.requests]
        assert len(ids) == len(set(ids))  # each notification sent once

        def delivered() -> set[str]:
            deliveries = server.get("/api/v1/deliveries", status="delivered")["deliveries"]
            return {d["id"] for d in deliveries}

        # The sink records a request before the server has read its answer and marked the
        # delivery delivered: wait for that, then every request is one delivered notification.
        poll(lambda: delivered() >= set(ids))
        assert delivered() == set(ids)
        receivers = server.get("/api/v1/receivers")["receivers"]
        assert receivers[0]["name"] == "hook"
        assert receivers[0]["endpoint_host"] == f"127.0.0.1:{sink.port}"
        assert receivers[0]["delivered"] == len(ids)
        assert SECRET not in json.dumps(receivers)
