"""Deliveries from a running server: a receiver that is down a while gets every notification
once it is back (once per notification id); a receiver answering 400 is not retried and the
delivery shows as failed in the API."""

from __future__ import annotations

import json
from pathlib import Path

from alert_http_sink import Answer, Sink
from alerting_harness import Feeder, alerting_server, drift_rules, poll, upload_reference, webhook


def test_down_receiver_catches_up_and_400_is_final(
    tmp_path: Path, sink: Sink, down_sink: Sink
) -> None:
    sink.script = [Answer(400, body=b"bad payload")]
    rules = drift_rules(
        [webhook(f"{down_sink.url}/hook", "later"), webhook(f"{sink.url}/hook", "strict")],
        for_s=0,
    )
    with alerting_server(tmp_path, rules) as server:
        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0):
            poll(lambda: server.alerts(state="firing"))

            def retried() -> list[dict[str, object]]:
                pending = server.get("/api/v1/deliveries", status="pending")["deliveries"]
                return [d for d in pending if d["receiver"] == "later" and d["attempts"] >= 2]

            waiting = poll(retried)[0]
            assert waiting["last_status_code"] is None
            assert "ConnectError" in str(waiting["last_error"])

            failed = poll(lambda: server.get("/api/v1/deliveries", status="failed")["deliveries"])
            assert failed[0]["receiver"] == "strict"
            assert failed[0]["last_status_code"] == 400
            assert failed[0]["attempts"] == 1
            detail = server.get(f"/api/v1/deliveries/{waiting['id']}")
            assert [a["outcome"] for a in detail["history"]][:2] == ["retryable", "retryable"]
            assert all(a["status_code"] is None for a in detail["history"])

            down_sink.up()  # the receiver comes back

            def caught_up() -> bool:
                pending = server.get("/api/v1/deliveries", status="pending")["deliveries"]
                return bool(down_sink.received()) and not [
                    d for d in pending if d["receiver"] == "later"
                ]

            poll(caught_up)

        ids = [r.headers["webhook-id"] for r in down_sink.received()]

        def delivered_later() -> set[str] | None:
            """The ids delivered to "later", once each received request is marked delivered
            (the receiver records a request before the server has read the answer)."""
            delivered = server.get("/api/v1/deliveries", status="delivered")["deliveries"]
            found = {d["id"] for d in delivered if d["receiver"] == "later"}
            return found if found >= set(ids) else None

        later = poll(delivered_later)
        assert sorted(ids) == sorted(later)  # every notification arrived, each exactly once
        assert all(json.loads(r.body)["receiver"] == "later" for r in down_sink.received())
        # The 400 was final: the strict receiver saw that notification once and only once.
        strict_ids = [r.headers["webhook-id"] for r in sink.received()]
        assert strict_ids.count(failed[0]["id"]) == 1
        receivers = {r["name"]: r for r in server.get("/api/v1/receivers")["receivers"]}
        assert receivers["strict"]["failed"] >= 1
        assert receivers["strict"]["last_error"].startswith("HTTP 400")
        assert receivers["later"]["delivered"] == len(later)
