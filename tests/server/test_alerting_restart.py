"""``edgewatch server`` in a subprocess: SIGKILL and restart keep alert state and pending
deliveries; SIGHUP reloads the rules (a broken file is refused, old rules kept); a broken
rules file stops the server from starting, naming the problem."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from alert_http_sink import Sink
from alerting_harness import (
    AlertingServer,
    Feeder,
    drift_rules,
    poll,
    upload_reference,
    webhook,
    write_rules,
)
from live_server import free_port, server_command
from server_harness import ROOT, ServerProcess, make_tokens


def _fast_alerting(monkeypatch: pytest.MonkeyPatch, rules: Path) -> None:
    for name, value in {
        "EDGEWATCH_RULES_FILE": str(rules),
        "EDGEWATCH_SCHEDULER_TICK_S": "0.2",
        "EDGEWATCH_DELIVERY_POLL_S": "0.1",
        "EDGEWATCH_DELIVERY_INITIAL_BACKOFF_S": "0.2",
        "EDGEWATCH_DELIVERY_MAX_BACKOFF_S": "1",
    }.items():
        monkeypatch.setenv(name, value)


def test_restart_keeps_alerts_and_pending_deliveries_and_sighup_reloads(
    tmp_path: Path, down_sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = write_rules(
        tmp_path / "rules.yaml", drift_rules([webhook(f"{down_sink.url}/h")], for_s=0)
    )
    _fast_alerting(monkeypatch, rules)
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    proc = ServerProcess(db, free_port(), tmp_path / "server.log")
    proc.start()
    try:
        server = AlertingServer(proc.url, tokens, db, rules, None)
        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0):
            before = poll(lambda: server.alerts(state="firing"))
            pending = poll(
                lambda: [
                    d
                    for d in server.get("/api/v1/deliveries", status="pending")["deliveries"]
                    if d["attempts"] >= 1
                ]
            )
        proc.kill()  # SIGKILL: no chance to flush anything
        down_sink.up()
        proc.start()

        after = {a["fingerprint"]: a for a in server.alerts()}
        for alert in before:
            kept = after[alert["fingerprint"]]
            assert kept["active_at"] == alert["active_at"]
            assert kept["fired_at"] == alert["fired_at"]
            history = server.get(f"/api/v1/alerts/{alert['fingerprint']}")["history"]
            assert [h["state"] for h in history][:2] == ["pending", "firing"]

        def delivered() -> bool:
            done = {
                d["id"] for d in server.get("/api/v1/deliveries", status="delivered")["deliveries"]
            }
            return {d["id"] for d in pending} <= done

        poll(delivered)
        ids = [r.headers["webhook-id"] for r in down_sink.received()]
        assert {d["id"] for d in pending} <= set(ids)
        assert len(ids) == len(set(ids))

        # SIGHUP with a broken file: refused, old rules kept, the reason logged.
        broken = drift_rules([])
        broken["rules"][0]["for"] = "soon"
        write_rules(rules, broken)
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGHUP)
        poll(lambda: "rules file rejected" in proc.log.read_text())
        assert [r["name"] for r in server.get("/api/v1/rules")["rules"]] == ["FeatureShift"]
        good = drift_rules([])
        good["rules"][0]["name"] = "Renamed"
        write_rules(rules, good)
        proc.proc.send_signal(signal.SIGHUP)
        poll(lambda: [r["name"] for r in server.get("/api/v1/rules")["rules"]] == ["Renamed"])
    finally:
        proc.stop()


def test_broken_rules_file_refuses_to_start(tmp_path: Path) -> None:
    broken = drift_rules([])
    broken["rules"][0]["window"] = "-5m"
    rules = write_rules(tmp_path / "rules.yaml", broken)
    env = {**os.environ, "EDGEWATCH_LOG_LEVEL": "warning"}
    run = subprocess.run(
        server_command(tmp_path / "x.duckdb", free_port(), "--rules", str(rules)),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode != 0
    assert f"{rules}: 1 problem(s) in the rules file" in run.stderr
    assert "rule 'FeatureShift' (rules[0]): window:" in run.stderr
