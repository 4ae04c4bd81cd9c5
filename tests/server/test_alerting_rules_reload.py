"""Rules reload through ``POST /api/v1/rules/reload``: a broken file keeps the old rules and
answers every error; a good one takes effect, and deliveries of a removed receiver are
dead-lettered with the reason instead of staying pending forever."""

from __future__ import annotations

from pathlib import Path

from alert_http_sink import Sink
from alerting_harness import (
    Feeder,
    alerting_server,
    drift_rules,
    poll,
    upload_reference,
    webhook,
    write_rules,
)


def test_broken_reload_keeps_rules_good_reload_applies(tmp_path: Path, down_sink: Sink) -> None:
    rules = drift_rules([webhook(f"{down_sink.url}/hook", "gone")], for_s=0)
    with alerting_server(tmp_path, rules) as server:
        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0):
            poll(lambda: server.get("/api/v1/deliveries", status="pending")["deliveries"])

        broken = drift_rules([])
        broken["rules"][0]["threshold"] = "about 0.2"
        broken["rules"][0]["severty"] = "critical"
        write_rules(server.rules, broken)
        r = server.post("/api/v1/rules/reload")
        assert r.status_code == 422
        errors = r.json()["errors"]
        text = "\n".join(errors)
        assert len(errors) == 2  # each problem its own message, naming file, rule and field
        assert "rule 'FeatureShift' (rules[0]): threshold: invalid threshold 'about 0.2'" in text
        assert (
            "rule 'FeatureShift' (rules[0]): severty: unknown field (did you mean 'severity'?)"
            in text
        )
        assert all(e.startswith(str(server.rules)) for e in errors)
        assert [x["name"] for x in server.get("/api/v1/rules")["rules"]] == ["FeatureShift"]

        unknown = drift_rules([])
        unknown["rules"][0]["detector"] = "nope"
        write_rules(server.rules, unknown)
        r = server.post("/api/v1/rules/reload")
        assert r.status_code == 422
        assert "unknown detector 'nope'" in r.json()["errors"][0]

        fleet_wide = drift_rules([])
        fleet_wide["rules"][0]["scope"] = {"level": "fleet"}
        write_rules(server.rules, fleet_wide)
        r = server.post("/api/v1/rules/reload")
        assert r.status_code == 422  # a fleet spans model versions: no baseline to compare with
        assert "fleet-scope member has no model version" in r.json()["errors"][0]
        assert "use scope level 'version'" in r.json()["errors"][0]
        assert [x["name"] for x in server.get("/api/v1/rules")["rules"]] == ["FeatureShift"]

        good = drift_rules([])
        good["rules"][0]["name"] = "FeatureShiftV2"
        write_rules(server.rules, good)
        r = server.post("/api/v1/rules/reload")
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "rules": 1}
        assert [x["name"] for x in server.get("/api/v1/rules")["rules"]] == ["FeatureShiftV2"]
        assert server.get("/api/v1/receivers")["receivers"] == []
        assert server.get("/api/v1/deliveries", status="pending")["deliveries"] == []
        dead = server.get("/api/v1/deliveries", status="dead")["deliveries"]
        assert dead and all(
            "'gone' was removed from the rules file" in d["last_error"] for d in dead
        )
