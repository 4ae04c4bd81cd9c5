"""The engine over the in-memory store: silences, acks and inhibition as a user sees them,
and a restart that restores everything from the dataclasses' JSON form."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.server.alert import (
    Ack,
    AckError,
    Alert,
    AlertEngine,
    AlertState,
    Attempt,
    Delivery,
    DeliveryState,
    GroupState,
    InMemoryAlertingStore,
    InMemoryDeliveryQueue,
    Observation,
    Outcome,
    RetryPolicy,
    RuleEvaluation,
    RuleSet,
    Silence,
    SilenceError,
    SilenceState,
    classify_status,
    generate_secret,
    load_rules_text,
    parse_matcher,
    parse_retry_after,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CAM1 = {"device": "cam-1", "model": "det", "version": "3"}
CAM2 = {"device": "cam-2", "model": "det", "version": "3"}


def ruleset() -> RuleSet:
    rule = {"detector": "psi", "signal": "s", "threshold": "> 0.5"}
    return load_rules_text(
        yaml.safe_dump(
            {
                "route": {"receivers": ["hook"], "group_by": ["alertname"], "group_wait": "30s"},
                "receivers": [
                    {
                        "name": "hook",
                        "type": "webhook",
                        "url": "http://127.0.0.1:9",
                        "secret": generate_secret(),
                    }
                ],
                "rules": [
                    {**rule, "name": "DeviceOffline", "severity": "critical"},
                    {**rule, "name": "FeatureDrift", "for": "1m"},
                ],
            }
        )
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def engine(store: InMemoryAlertingStore | None = None) -> tuple[AlertEngine, InMemoryDeliveryQueue]:
    queue = InMemoryDeliveryQueue()
    return AlertEngine(ruleset(), store=store or InMemoryAlertingStore(), queue=queue), queue


def devices_in(delivery: Delivery) -> list[str]:
    return sorted(a["labels"]["device"] for a in json.loads(delivery.body)["alerts"])


def drift(e: AlertEngine, now: datetime, *devices: dict[str, str]) -> None:
    e.record_evaluation("FeatureDrift", [Observation(d, True, 0.9, 0.1) for d in devices], now)


def test_drift_goes_pending_then_firing_then_notifies_after_group_wait() -> None:
    e, queue = engine()
    drift(e, at(0), CAM1)
    assert [s.alert.state for s in e.statuses(at(0))] == [AlertState.PENDING]
    assert e.dispatch(at(0)) == []
    drift(e, at(60), CAM1)
    assert [s.alert.state for s in e.statuses(at(60))] == [AlertState.FIRING]
    assert e.dispatch(at(60)) == []
    (delivery,) = e.dispatch(at(90))
    assert devices_in(delivery) == ["cam-1"]
    assert queue.due(at(90)) == [delivery]


def test_a_silence_mutes_until_it_is_expired() -> None:
    e, _ = engine()
    silence = e.add_silence(
        [parse_matcher('device="cam-1"')],
        starts_at=at(0),
        ends_at=at(3600),
        created_by="ana",
        comment="recalibrating",
        now=at(0),
    )
    drift(e, at(0), CAM1, CAM2)
    drift(e, at(60), CAM1, CAM2)
    (delivery,) = e.dispatch(at(90))
    assert devices_in(delivery) == ["cam-2"]
    muted = {s.alert.labels["device"]: s.silenced_by for s in e.statuses(at(90))}
    assert muted == {"cam-1": (silence.id,), "cam-2": ()}
    expired = e.expire_silence(silence.id, at(100))
    assert expired.state(at(100)) is SilenceState.EXPIRED
    (after,) = e.dispatch(at(390))
    assert devices_in(after) == ["cam-1", "cam-2"]
    with pytest.raises(SilenceError, match="already expired"):
        e.expire_silence(silence.id, at(400))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"matchers": []}, "at least one matcher"),
        ({"matchers": [parse_matcher('device=~".*"')]}, "must not match the empty string"),
        ({"ends_at": at(-10)}, "ends_at must be after starts_at"),
        ({"created_by": " "}, "created_by must not be empty"),
        ({"comment": ""}, "comment must not be empty"),
    ],
)
def test_invalid_silences_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "matchers": [parse_matcher('device="cam-1"')],
        "starts_at": at(0),
        "ends_at": at(60),
        "created_by": "ana",
        "comment": "why",
        "now": at(0),
    }
    args.update(kwargs)
    with pytest.raises(SilenceError, match=message):
        Silence.create(**args)  # type: ignore[arg-type]


def test_a_pending_silence_expires_at_once_and_never_mutes() -> None:
    s = Silence.create(
        [parse_matcher("device=cam-1")],
        starts_at=at(100),
        ends_at=at(200),
        created_by="ana",
        comment="later",
        now=at(0),
    )
    assert s.state(at(0)) is SilenceState.PENDING and not s.mutes(CAM1, at(50))
    expired = s.expire(at(50))
    assert expired.starts_at == expired.ends_at == at(50)
    assert not expired.mutes(CAM1, at(150))


def test_an_offline_device_mutes_its_drift_alert() -> None:
    e, _ = engine()
    drift(e, at(0), CAM1, CAM2)
    drift(e, at(60), CAM1, CAM2)
    e.record_evaluation("DeviceOffline", [Observation(CAM1, True, 4.0)], at(60))
    notes = e.dispatch(at(90))
    by_rule = {json.loads(d.body)["groupLabels"]["alertname"]: devices_in(d) for d in notes}
    assert by_rule == {"DeviceOffline": ["cam-1"], "FeatureDrift": ["cam-2"]}
    inhibited = {
        s.alert.labels["device"]: s.inhibited_by
        for s in e.statuses(at(90))
        if s.alert.rule == "FeatureDrift"
    }
    assert inhibited["cam-2"] is None and inhibited["cam-1"] is not None


def test_an_ack_shows_stops_repeats_and_lapses_with_the_episode() -> None:
    e, _ = engine()
    drift(e, at(0), CAM1)
    drift(e, at(60), CAM1)
    assert len(e.dispatch(at(90))) == 1
    (status,) = e.statuses(at(90))
    ack = e.acknowledge(status.alert.fingerprint, author="ana", comment="on it", now=at(100))
    (status,) = e.statuses(at(100))
    assert status.ack == ack and status.to_dict()["ack"]["author"] == "ana"
    for t in range(390, 6 * 3600, 300):
        drift(e, at(t), CAM1)
        assert e.dispatch(at(t)) == []
    e.record_evaluation("FeatureDrift", [], at(6 * 3600))  # resolves
    (resolved,) = e.statuses(at(6 * 3600))
    assert resolved.alert.state is AlertState.RESOLVED and resolved.ack is None
    with pytest.raises(AckError, match="resolved"):
        e.acknowledge(resolved.alert.fingerprint, author="ana", comment="", now=at(6 * 3600))
    with pytest.raises(AckError, match="no current alert"):
        e.acknowledge("0000000000000000", author="ana", comment="", now=at(0))


def test_a_restart_restores_alerts_groups_silences_acks_and_deliveries_from_json() -> None:
    store = InMemoryAlertingStore()
    e, queue = engine(store)
    drift(e, at(0), CAM1, CAM2)
    drift(e, at(60), CAM1, CAM2)
    e.add_silence(
        [parse_matcher("device=cam-9")],
        starts_at=at(0),
        ends_at=at(9000),
        created_by="ana",
        comment="spare",
        now=at(0),
    )
    (delivery,) = e.dispatch(at(90))
    e.acknowledge(e.statuses(at(90))[0].alert.fingerprint, author="bo", comment="", now=at(95))

    saved = json.dumps(
        {
            "alerts": [a.to_dict() for a in store.alerts()],
            "groups": [g.to_dict() for g in store.groups()],
            "silences": [s.to_dict() for s in store.silences()],
            "acks": [a.to_dict() for a in store.acks()],
            "deliveries": [d.to_dict() for d in queue.deliveries()],
        }
    )
    data = json.loads(saved)
    restored = InMemoryAlertingStore()
    alerts = tuple(Alert.from_dict(a) for a in data["alerts"])
    restored.save_evaluation("FeatureDrift", RuleEvaluation(alerts), at(60))
    restored.save_groups([GroupState.from_dict(g) for g in data["groups"]], [])
    for s in data["silences"]:
        restored.put_silence(Silence.from_dict(s))
    for a in data["acks"]:
        restored.put_ack(Ack.from_dict(a))
    queue2 = InMemoryDeliveryQueue()
    for d in data["deliveries"]:
        queue2.enqueue(Delivery.from_dict(d))

    assert sorted(store.alerts(), key=lambda a: a.fingerprint) == sorted(
        restored.alerts(), key=lambda a: a.fingerprint
    )
    assert queue2.deliveries() == [delivery]
    e2 = AlertEngine(ruleset(), store=restored, queue=queue2)
    assert e2.statuses(at(100)) == e.statuses(at(100))
    # The restored groups remember what was sent: nothing new to say at the next look.
    drift(e2, at(390), CAM1, CAM2)
    assert e2.dispatch(at(390)) == []


def test_status_classification() -> None:
    assert classify_status(204) is Outcome.DELIVERED
    assert classify_status(429) is Outcome.RETRYABLE and classify_status(503) is Outcome.RETRYABLE
    assert classify_status(400) is Outcome.PERMANENT and classify_status(404) is Outcome.PERMANENT
    assert classify_status(301) is Outcome.PERMANENT


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", T0) == 120
    assert parse_retry_after("Sun, 01 Mar 2026 12:01:00 GMT", T0) == 60
    assert parse_retry_after("soon", T0) is None and parse_retry_after(None, T0) is None


def _delivery(created: datetime, attempts: int = 0) -> Delivery:
    tries = tuple(Attempt(created, Outcome.RETRYABLE, 503) for _ in range(attempts))
    return Delivery("d1", "hook", "{}", created, created, attempts=tries)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=1, max_backoff_s=30, jitter=0.2)
    rng = random.Random(3)
    waits = [policy.backoff_s(n, rng) for n in range(1, 9)]
    for n, wait in enumerate(waits, start=1):
        base = min(30, 2 ** (n - 1))
        assert 0.8 * base <= wait <= 1.2 * base


def test_retry_decisions() -> None:
    policy = RetryPolicy(
        initial_backoff_s=1, max_backoff_s=10, jitter=0, max_age_s=60, max_retry_after_s=30
    )
    rng = random.Random(0)
    d = _delivery(T0, attempts=2)
    retry = policy.decide(d, Attempt(at(5), Outcome.RETRYABLE, 503), rng)
    assert retry.state is DeliveryState.PENDING and retry.next_attempt_at == at(5 + 4)
    honoured = policy.decide(d, Attempt(at(5), Outcome.RETRYABLE, 429, retry_after_s=20), rng)
    assert honoured.next_attempt_at == at(25)
    capped = policy.decide(d, Attempt(at(5), Outcome.RETRYABLE, 429, retry_after_s=10_000), rng)
    assert capped.next_attempt_at == at(35)
    dead = policy.decide(d, Attempt(at(57), Outcome.RETRYABLE, 503), rng)  # 57 + 4 > 60
    assert dead.state is DeliveryState.DEAD
    assert (
        policy.decide(d, Attempt(at(5), Outcome.PERMANENT, 400), rng).state is DeliveryState.FAILED
    )
    assert (
        policy.decide(d, Attempt(at(5), Outcome.DELIVERED, 200), rng).state
        is DeliveryState.DELIVERED
    )


def test_a_newer_alertmanager_delivery_supersedes_a_pending_one() -> None:
    queue = InMemoryDeliveryQueue()
    old = Delivery("a", "am", "[]", T0, T0, coalesce_key="am")
    queue.enqueue(old)
    queue.enqueue(Delivery("b", "am", "[]", at(60), at(60), coalesce_key="am"))
    assert [d.id for d in queue.due(at(60))] == ["b"]
    assert queue.deliveries(state=DeliveryState.SUPERSEDED)[0].id == "a"
    queue.mark_attempt("a", Attempt(at(61), Outcome.RETRYABLE, 503), at(70))
    assert queue.deliveries(state=DeliveryState.SUPERSEDED)[0].id == "a"
    with pytest.raises(ValueError, match="already queued"):
        queue.enqueue(old)


def test_deliveries_round_trip() -> None:
    d = Delivery(
        "d1",
        "hook",
        '{"x":1}',
        T0,
        at(5),
        "k",
        ("fp",),
        DeliveryState.PENDING,
        (Attempt(T0, Outcome.RETRYABLE, 503, "HTTP 503", 0.01, 2.0),),
        None,
    )
    assert Delivery.from_dict(json.loads(json.dumps(d.to_dict()))) == d


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["cam-1", "cam-2", "cam-3"]), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["cam-1", "cam-2", "cam-3"]),
    st.integers(0, 1800),
    st.integers(60, 3600),
)
def test_no_delivery_ever_mentions_an_alert_silenced_at_that_time(
    steps: list[tuple[str, bool]], silenced: str, start_s: int, length_s: int
) -> None:
    e, _ = engine()
    silence = e.add_silence(
        [parse_matcher(f'device="{silenced}"')],
        starts_at=at(start_s),
        ends_at=at(start_s + length_s),
        created_by="ana",
        comment="x",
        now=at(0),
    )
    active: set[str] = set()
    for i, (device, on) in enumerate(steps):
        now = at(150 * i)
        (active.add if on else active.discard)(device)
        devices = [{**CAM1, "device": d} for d in sorted(active)]
        drift(e, now, *devices)
        for delivery in e.dispatch(now):
            for alert in json.loads(delivery.body)["alerts"]:
                assert not silence.mutes(alert["labels"], now)
