"""The scheduler driven with an injected clock (``run_once(now)``) on a real server's store:
results recorded per feature and window, the minimum-sample guard, no baseline, and
evaluations missed during downtime skipped and counted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alerting_harness import (
    AlertingServer,
    alerting_server,
    batch,
    drift_rules,
    poll,
    upload_reference,
)

from edgewatch.server.alerting import AlertingService


@pytest.fixture
def server(tmp_path: Path) -> Any:
    # The scheduler thread waits an hour before its first tick: the test drives run_once.
    with alerting_server(tmp_path, drift_rules([], for_s=5), scheduler_tick_s=3600.0) as s:
        yield s


def _service(server: AlertingServer) -> AlertingService:
    service: AlertingService = server.app.state.alerting
    return service


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _results(server: AlertingServer, at: datetime) -> list[dict[str, Any]]:
    """The drift results of the evaluation at ``at``."""
    window = {"from": _stamp(at - timedelta(seconds=1)), "to": _stamp(at)}
    results: list[dict[str, Any]] = server.get("/api/v1/drift", **window)["results"]
    return [r for r in results if r["window_end"] == _stamp(at)]


def test_results_per_feature_min_samples_and_no_baseline(
    server: AlertingServer, tmp_path: Path
) -> None:
    now = time.time()
    server.send(batch("dev-a", shift=2.0, end_s=now - 1, n=400))
    poll(lambda: server.get("/api/v1/devices")["devices"])
    service = _service(server)
    t0 = datetime.fromtimestamp(now, UTC)

    service.scheduler.run_once(t0)  # no baseline yet: judged as insufficient data
    first = _results(server, t0)
    assert {r["feature"] for r in first} == {"f00", "f01", "f02", "f03"}
    assert {r["verdict"] for r in first} == {"insufficient_data"}
    assert all(r["score"] is None and r["scope"] == "version" for r in first)

    upload_reference(server, tmp_path)
    t1 = t0 + timedelta(seconds=1)
    service.scheduler.run_once(t1)
    second = _results(server, t1)
    assert {r["verdict"] for r in second} == {"drift"}
    assert all(r["method"] == "psi" and r["score"] > 0.2 for r in second)
    alerts = server.alerts()
    assert {a["state"] for a in alerts} == {"pending"}  # for: 5s has not elapsed
    assert {a["labels"]["feature"] for a in alerts} == {"f00", "f01", "f02", "f03"}

    # 3 s later the window holds no data: insufficient, and the alerts keep their state.
    t2 = t1 + timedelta(seconds=4)
    service.scheduler.run_once(t2)
    later = _results(server, t2)
    assert {r["verdict"] for r in later} == {"insufficient_data"}
    assert {a["state"] for a in server.alerts()} == {"pending"}

    # A window with fewer values than min_samples (100) is insufficient, not a verdict.
    server.send(batch("dev-a", shift=2.0, end_s=t2.timestamp() + 2, n=20))
    t3 = t2 + timedelta(seconds=3)
    service.scheduler.run_once(t3)
    tiny = _results(server, t3)
    assert {r["verdict"] for r in tiny} == {"insufficient_data"}


def test_missed_evaluations_are_skipped_and_counted(server: AlertingServer) -> None:
    service = _service(server)
    t0 = datetime.now(UTC)
    service.scheduler.run_once(t0)
    service.scheduler.run_once(t0 + timedelta(milliseconds=500))  # not due yet (interval 1 s)
    [rule] = server.get("/api/v1/rules")["rules"]
    assert rule["last_evaluated_at"] == _stamp(t0)
    assert rule["skipped_evaluations"] == 0
    service.scheduler.run_once(t0 + timedelta(seconds=10))  # nine intervals were missed
    [rule] = server.get("/api/v1/rules")["rules"]
    assert rule["skipped_evaluations"] == 9
    assert rule["last_error"] is None
    assert rule == {
        **rule,
        "name": "FeatureShift",
        "detector": "psi",
        "severity": "warning",
        "scope": {"level": "version", "matchers": []},
        "interval_s": 1.0,
        "for_s": 5.0,
    }
