"""Against a real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1: our alerts
appear in its API with the right labels and fingerprint, and leave when they resolve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml

from edgewatch.server.alert import (
    AlertEngine,
    AlertState,
    DeliveryState,
    DeliveryWorker,
    InMemoryAlertingStore,
    InMemoryDeliveryQueue,
    Observation,
    RetryPolicy,
    build_receivers,
    load_rules_text,
)

BINARY = "prometheus-alertmanager"


def _alerts(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def test_alerts_appear_in_alertmanager_and_leave_on_resolve(
    alertmanager: str, waiter: Callable[..., None]
) -> None:
    ruleset = load_rules_text(
        yaml.safe_dump(
            {
                "external_url": "http://127.0.0.1:8000",
                "route": {"receivers": ["am"]},
                "receivers": [{"name": "am", "type": "alertmanager", "url": alertmanager}],
                "rules": [
                    {
                        "name": "DeviceOffline",
                        "detector": "missing_heartbeat",
                        "signal": "edgewatch.device.last_seen",
                        "threshold": ">= 3",
                        "severity": "critical",
                        "labels": {"team": "edge"},
                        "annotations": {"summary": "{{ device }} is offline"},
                    }
                ],
            }
        )
    )
    queue = InMemoryDeliveryQueue()
    receivers = build_receivers(ruleset.receivers)
    worker = DeliveryWorker(
        queue,
        receivers,
        policy=RetryPolicy(initial_backoff_s=0.1, max_backoff_s=0.5),
        poll_interval_s=0.05,
    )
    engine = AlertEngine(
        ruleset, store=InMemoryAlertingStore(), queue=queue, on_enqueue=worker.wake
    )
    worker.start()
    try:
        now = datetime.now(UTC)
        devices = [{"device": "cam-1", "model": "det"}, {"device": "cam-2", "model": "det"}]
        evaluation = engine.record_evaluation(
            "DeviceOffline", [Observation(d, True, 5.0) for d in devices], now
        )
        ours = {a.labels["device"]: a for a in evaluation.alerts}
        assert all(a.state is AlertState.FIRING for a in ours.values())
        (sent,) = engine.dispatch(now)

        def delivered() -> bool:
            d = queue.get(sent.id)
            return d is not None and d.state is DeliveryState.DELIVERED

        waiter(delivered)
        waiter(lambda: len(_alerts(alertmanager)) == 2, 15)
        theirs = {a["labels"]["device"]: a for a in _alerts(alertmanager)}
        for device, alert in ours.items():
            assert theirs[device]["labels"] == {
                "alertname": "DeviceOffline",
                "device": device,
                "model": "det",
                "severity": "critical",
                "team": "edge",
            }
            assert theirs[device]["annotations"] == {"summary": f"{device} is offline"}
            assert theirs[device]["fingerprint"] == alert.fingerprint
            assert theirs[device]["status"]["state"] == "active"
            assert theirs[device]["generatorURL"].endswith(f"/alerts/{alert.fingerprint}")

        later = datetime.now(UTC)
        engine.record_evaluation("DeviceOffline", [Observation(devices[1], True, 6.0)], later)
        (resolved,) = engine.dispatch(later)
        waiter(lambda: [a["labels"]["device"] for a in _alerts(alertmanager)] == ["cam-2"], 15)
        body = resolved.body
        assert '"device":"cam-1"' in body and '"device":"cam-2"' in body
    finally:
        assert worker.stop(timeout_s=10)
        for r in receivers.values():
            r.close()
