"""Deliveries to real HTTP receivers on 127.0.0.1: signatures verified by the reference
library, a receiver that is down and comes back, 4xx not retried, Retry-After honoured."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import yaml
from alert_http_sink import Answer, Sink
from standardwebhooks import Webhook

from edgewatch.server.alert import (
    AlertEngine,
    DeliveryState,
    DeliveryWorker,
    HttpReceiver,
    InMemoryAlertingStore,
    InMemoryDeliveryQueue,
    Observation,
    Outcome,
    RetryPolicy,
    RuleSet,
    build_receivers,
    generate_secret,
    load_rules_text,
)

SECRET = generate_secret()
FAST = RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.1, max_age_s=30)


def rules_for(url: str, kind: str = "webhook", **receiver: object) -> RuleSet:
    recv: dict[str, object] = {"name": "hook", "type": kind, "url": url, "group_wait": "0s"}
    if kind == "webhook":
        recv["secret"] = SECRET
    recv.update(receiver)
    text = yaml.safe_dump(
        {
            "external_url": "http://127.0.0.1:8000",
            "route": {"receivers": ["hook"], "group_by": ["alertname", "device"]},
            "receivers": [recv],
            "rules": [
                {
                    "name": "FeatureDrift",
                    "detector": "psi",
                    "signal": "ml.feature.value",
                    "threshold": "> 0.2",
                    "annotations": {"summary": "{{ feature }} drifted on {{ device }}"},
                }
            ],
        }
    )
    return load_rules_text(text)


class Harness:
    """Engine + in-memory store and queue + worker over real receivers."""

    def __init__(self, ruleset: RuleSet, policy: RetryPolicy = FAST) -> None:
        self.queue = InMemoryDeliveryQueue()
        self.receivers = build_receivers(ruleset.receivers)
        self.worker = DeliveryWorker(
            self.queue, self.receivers, policy=policy, poll_interval_s=0.02, seed=1
        )
        self.engine = AlertEngine(
            ruleset, store=InMemoryAlertingStore(), queue=self.queue, on_enqueue=self.worker.wake
        )

    def fire(self, *devices: str) -> list[str]:
        now = datetime.now(UTC)
        obs = [Observation({"device": d, "feature": "temp"}, True, 0.4, 0.0) for d in devices]
        self.engine.record_evaluation("FeatureDrift", obs, now)
        return [d.id for d in self.engine.dispatch(now)]

    def state(self, delivery_id: str) -> DeliveryState:
        delivery = self.queue.get(delivery_id)
        assert delivery is not None
        return delivery.state

    def attempts(self, delivery_id: str) -> int:
        delivery = self.queue.get(delivery_id)
        assert delivery is not None
        return len(delivery.attempts)

    def close(self) -> None:
        assert self.worker.stop(timeout_s=10)
        for r in self.receivers.values():
            r.close()


@pytest.fixture
def harness_factory() -> Iterator[Callable[[RuleSet], Harness]]:
    made: list[Harness] = []

    def make(ruleset: RuleSet, policy: RetryPolicy = FAST) -> Harness:
        h = Harness(ruleset, policy)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def test_signed_webhook_in_alertmanager_v4_format(
    sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    h = harness_factory(rules_for(sink.url + "/hook"))
    (delivery_id,) = h.fire("cam-1")
    h.worker.start()
    waiter(lambda: len(sink.received()) == 1)
    (request,) = sink.received()
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == delivery_id
    assert (
        payload["version"] == "4"
        and payload["status"] == "firing"
        and payload["receiver"] == "hook"
    )
    (alert,) = payload["alerts"]
    assert alert["labels"] == {
        "alertname": "FeatureDrift",
        "device": "cam-1",
        "feature": "temp",
        "severity": "warning",
    }
    assert alert["annotations"] == {"summary": "temp drifted on cam-1"}
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["generatorURL"] == f"http://127.0.0.1:8000/alerts/{alert['fingerprint']}"
    assert payload["groupLabels"] == {"alertname": "FeatureDrift", "device": "cam-1"}
    assert payload["commonLabels"] == alert["labels"]
    assert payload["groupKey"] == '{receiver="hook"}:{alertname="FeatureDrift",device="cam-1"}'
    assert payload["truncatedAlerts"] == 0
    waiter(lambda: h.state(delivery_id) is DeliveryState.DELIVERED)


def test_a_tampered_body_fails_verification(
    sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    h = harness_factory(rules_for(sink.url))
    h.fire("cam-1")
    h.worker.start()
    waiter(lambda: len(sink.received()) == 1)
    (request,) = sink.received()
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(request.body.replace(b"cam-1", b"cam-2"), request.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(generate_secret()).verify(request.body, request.headers)


def test_a_receiver_that_is_down_gets_every_notification_once_when_it_returns(
    down_sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    h = harness_factory(rules_for(down_sink.url))
    ids = h.fire("cam-1", "cam-2", "cam-3")
    assert len(ids) == 3
    h.worker.start()
    waiter(lambda: all(h.attempts(i) >= 2 for i in ids))
    failed = h.queue.get(ids[0])
    assert failed is not None and failed.state is DeliveryState.PENDING
    assert failed.attempts[0].outcome is Outcome.RETRYABLE
    assert "ConnectError" in (failed.last_error or "")
    down_sink.up()
    waiter(lambda: all(h.state(i) is DeliveryState.DELIVERED for i in ids))
    received = down_sink.received()
    assert sorted(r.headers["webhook-id"] for r in received) == sorted(ids)
    for r in received:
        Webhook(SECRET).verify(r.body, r.headers)


def test_a_400_is_not_retried_and_shows_as_failed(
    sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    sink.script = [Answer(400, body=b"invalid_payload")]
    h = harness_factory(rules_for(sink.url))
    (delivery_id,) = h.fire("cam-1")
    h.worker.start()
    waiter(lambda: h.state(delivery_id) is DeliveryState.FAILED)
    delivery = h.queue.get(delivery_id)
    assert delivery is not None
    assert [a.status_code for a in delivery.attempts] == [400]
    assert delivery.last_error == "HTTP 400: invalid_payload"
    assert h.queue.deliveries(state=DeliveryState.FAILED) == [delivery]
    h.worker.stop()
    assert len(sink.received()) == 1


def test_503_with_retry_after_is_retried_no_sooner_than_asked(
    sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    sink.script = [Answer(503, (("Retry-After", "1"),)), Answer(429)]
    h = harness_factory(rules_for(sink.url))
    (delivery_id,) = h.fire("cam-1")
    h.worker.start()
    waiter(lambda: h.state(delivery_id) is DeliveryState.DELIVERED)
    delivery = h.queue.get(delivery_id)
    assert delivery is not None
    assert [a.status_code for a in delivery.attempts] == [503, 429, 200]
    assert delivery.attempts[0].retry_after_s == 1.0
    assert (delivery.attempts[1].at - delivery.attempts[0].at).total_seconds() >= 1.0
    assert len({r.headers["webhook-id"] for r in sink.received()}) == 1


def test_a_receiver_failing_past_the_max_age_is_dead_lettered(
    sink: Sink, harness_factory: Callable[..., Harness], waiter: Callable[..., None]
) -> None:
    sink.script = [Answer(502)] * 50
    policy = RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.1, max_age_s=0.3)
    h = harness_factory(rules_for(sink.url), policy)
    (delivery_id,) = h.fire("cam-1")
    h.worker.start()
    waiter(lambda: h.state(delivery_id) is DeliveryState.DEAD)
    delivery = h.queue.get(delivery_id)
    assert delivery is not None and 2 <= len(delivery.attempts) < 20
    assert all(a.status_code == 502 for a in delivery.attempts)


def test_slack_receivers_get_text_and_blocks(
    sink: Sink, harness_factory: Callable[[RuleSet], Harness], waiter: Callable[..., None]
) -> None:
    h = harness_factory(rules_for(sink.url + "/services/T0/B0/tok3n", kind="slack"))
    h.fire("cam-1")
    h.worker.start()
    waiter(lambda: len(sink.received()) == 1)
    (request,) = sink.received()
    assert "webhook-signature" not in request.headers
    body = json.loads(request.body)
    assert body["text"] == "[FIRING:1] FeatureDrift"
    assert body["blocks"][0]["type"] == "header"
    section = body["blocks"][1]
    assert "cam-1" in section["text"]["text"] and "temp drifted on cam-1" in section["text"]["text"]
    assert section["accessory"]["url"].startswith("http://127.0.0.1:8000/alerts/")


def test_network_errors_never_reveal_the_url(
    down_sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    ruleset = rules_for(down_sink.url + "/services/T0/B0/tok3n", kind="slack")
    receiver = HttpReceiver(ruleset.receivers[0])
    try:
        queue = InMemoryDeliveryQueue()
        engine = AlertEngine(ruleset, store=InMemoryAlertingStore(), queue=queue)
        now = datetime.now(UTC)
        engine.record_evaluation("FeatureDrift", [Observation({"device": "d"}, True, 1.0)], now)
        (delivery,) = engine.dispatch(now)
        with caplog.at_level(logging.DEBUG, logger="edgewatch.server.alert"):
            attempt = receiver.send(delivery, now)
    finally:
        receiver.close()
    assert attempt.outcome is Outcome.RETRYABLE
    assert "tok3n" not in (attempt.error or "") and "tok3n" not in repr(receiver)
    assert "delivery" in caplog.text and "tok3n" not in caplog.text


def test_stop_ends_the_worker_threads(sink: Sink) -> None:
    ruleset = rules_for(sink.url)
    receivers = build_receivers(ruleset.receivers)
    worker = DeliveryWorker(InMemoryDeliveryQueue(), receivers, poll_interval_s=0.05)
    worker.start()
    worker.start()  # idempotent
    assert worker.stop(timeout_s=5)
    assert worker.stop(timeout_s=5)
    for r in receivers.values():
        r.close()
