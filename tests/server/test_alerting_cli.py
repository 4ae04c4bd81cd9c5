"""``edgewatch silence create|list|expire`` and ``edgewatch alerts list`` against a live server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alerting_harness import Feeder, alerting_server, drift_rules, poll, upload_reference


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgewatch.server.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_silence_and_alerts_commands(tmp_path: Path) -> None:
    with alerting_server(tmp_path, drift_rules([], for_s=0)) as server:
        remote = ("--server", server.url, "--token", server.tokens.admin)
        made = _cli(
            "silence", "create", 'model=~"class.*"', 'alertname="FeatureShift"',
            "--duration", "600", "--author", "ana", "--comment", "maintenance", *remote,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        silence_id, status, matchers = made.stdout.split("\t")[:3]
        assert status == "active"
        assert matchers == 'model=~"class.*",alertname="FeatureShift"'
        listed = _cli("silence", "list", *remote)
        assert silence_id in listed.stdout and "ana: maintenance" in listed.stdout

        upload_reference(server, tmp_path)
        with Feeder(server, shift=2.0):
            poll(lambda: server.alerts(state="firing"))
        shown = _cli("alerts", "list", "--state", "firing", *remote)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.strip().splitlines()
        assert lines and all(
            line.startswith("firing\twarning\tFeatureShift\t1.0.0") for line in lines
        )
        as_json = json.loads(_cli("alerts", "list", "--json", *remote).stdout)
        assert all(a["silenced_by"] == [silence_id] for a in as_json["alerts"])

        expired = _cli("silence", "expire", silence_id, *remote)
        assert expired.returncode == 0 and "\texpired\t" in expired.stdout
        again = _cli("silence", "expire", silence_id, *remote)
        assert again.returncode == 1 and "already expired" in again.stderr
        bad = _cli("silence", "create", "device", "--author", "a", "--comment", "c", *remote)
        assert bad.returncode == 1 and "invalid matcher 'device'" in bad.stderr
