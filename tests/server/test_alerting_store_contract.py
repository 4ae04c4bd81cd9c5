"""The DuckDB alerting store and delivery queue behave exactly like the in-memory ones the
alerting core was tested with, and keep everything across a reopen of the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edgewatch.server.alert import (
    Ack,
    Attempt,
    Delivery,
    DeliveryState,
    GroupState,
    InMemoryAlertingStore,
    InMemoryDeliveryQueue,
    Observation,
    Outcome,
    Silence,
    UnknownDeliveryError,
    evaluate_rule,
    load_rules_text,
    parse_matcher,
)
from edgewatch.server.alerting import DuckAlertingStore, DuckDeliveryQueue
from edgewatch.server.store import Store, StoreConfig

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
RULES = load_rules_text(
    """
rules:
  - name: Hot
    detector: trend
    signal: hw.temperature
    threshold: "> 1"
    for: 1m
"""
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "a.duckdb", StoreConfig(maintenance=False)) as s:
        yield s


@pytest.fixture(params=["memory", "duckdb"])
def backends(request: pytest.FixtureRequest, store: Store) -> tuple[Any, Any]:
    if request.param == "memory":
        return InMemoryAlertingStore(), InMemoryDeliveryQueue()
    return DuckAlertingStore(store), DuckDeliveryQueue(store)


def _advance(alerts: Any, active: dict[str, bool | None], at: datetime) -> None:
    rule = RULES.rule("Hot")
    obs = [Observation({"device": d}, a, 2.0 if a else 0.5) for d, a in active.items()]
    evaluation = evaluate_rule(rule, alerts.alerts(rule="Hot"), obs, at)
    alerts.save_evaluation("Hot", evaluation, at)


def test_alert_state_history_and_evaluation_time(backends: tuple[Any, Any]) -> None:
    alerts, _ = backends
    assert alerts.last_evaluated_at("Hot") is None
    _advance(alerts, {"a": True, "b": True}, T0)
    _advance(alerts, {"a": True, "b": False}, T0 + timedelta(minutes=1))
    _advance(alerts, {"a": None}, T0 + timedelta(minutes=2))  # no data: state kept
    [alert] = alerts.alerts(rule="Hot")
    assert alert.labels["device"] == "a" and alert.state.value == "firing"
    assert alert.last_evaluated_at == T0 + timedelta(minutes=2)
    assert alerts.alerts(rule="Other") == []
    assert alerts.last_evaluated_at("Hot") == T0 + timedelta(minutes=2)
    steps = [(t.labels["device"], t.from_state, t.to_state) for t in alerts.history()]
    assert [
        (d, None if f is None else f.value, None if s is None else s.value) for d, f, s in steps
    ] == [
        ("a", None, "pending"),
        ("b", None, "pending"),
        ("a", "pending", "firing"),
        ("b", "pending", None),
    ]
    assert len(alerts.history(fingerprint=alert.fingerprint)) == 2


def test_rule_runs_keep_the_last_error_and_count_skipped_evaluations(
    backends: tuple[Any, Any],
) -> None:
    alerts, _ = backends
    assert alerts.rule_runs() == {}
    alerts.record_run("Hot", T0, "ValueError: no data", skipped=3)
    alerts.record_run("Hot", T0 + timedelta(minutes=1), "ValueError: still none", skipped=2)
    assert alerts.rule_runs() == {"Hot": (T0 + timedelta(minutes=1), "ValueError: still none", 5)}
    _advance(alerts, {"a": True}, T0 + timedelta(minutes=2))  # a good run clears the error
    assert alerts.rule_runs() == {"Hot": (T0 + timedelta(minutes=2), None, 5)}
    assert alerts.last_evaluated_at("Hot") == T0 + timedelta(minutes=2)


def test_silences_acks_groups(backends: tuple[Any, Any]) -> None:
    alerts, _ = backends
    silence = Silence.create(
        [parse_matcher('device="a"')],
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
        created_by="ana",
        comment="swap",
        now=T0,
    )
    alerts.put_silence(silence)
    alerts.put_silence(silence.expire(T0 + timedelta(minutes=5)))
    assert alerts.silence(silence.id).ends_at == T0 + timedelta(minutes=5)
    assert alerts.silence("nope") is None
    assert [s.id for s in alerts.silences()] == [silence.id]

    _advance(alerts, {"a": True}, T0)
    [alert] = alerts.alerts()
    alerts.put_ack(Ack.create(alert, author="ana", comment="on it", now=T0))
    assert [a.author for a in alerts.acks()] == ["ana"]
    assert alerts.remove_ack(alert.fingerprint) is True
    assert alerts.remove_ack(alert.fingerprint) is False

    group = GroupState("k1", "hook", {"alertname": "Hot"}, frozenset({"f1"}), T0)
    alerts.save_groups([group, replace(group, key="k2")], [])
    alerts.save_groups([replace(group, has_flushed=True)], ["k2"])
    assert alerts.groups() == [replace(group, has_flushed=True)]


def _delivery(i: int, coalesce: str | None = None) -> Delivery:
    at = T0 + timedelta(seconds=i)
    return Delivery(f"d{i}", "hook", f'{{"n":{i}}}', at, at, coalesce_key=coalesce)


def test_queue_due_attempts_and_supersede(backends: tuple[Any, Any]) -> None:
    _, queue = backends
    queue.enqueue(_delivery(1))
    queue.enqueue(_delivery(2, coalesce="am"))
    with pytest.raises(ValueError, match="already queued"):
        queue.enqueue(_delivery(1))
    assert [d.id for d in queue.due(T0 + timedelta(seconds=5))] == ["d1", "d2"]
    assert queue.due(T0) == []
    fail = Attempt(T0 + timedelta(seconds=3), Outcome.RETRYABLE, 503, "HTTP 503")
    queue.mark_attempt("d1", fail, T0 + timedelta(seconds=60))
    assert [d.id for d in queue.due(T0 + timedelta(seconds=5))] == ["d2"]
    queue.enqueue(_delivery(3, coalesce="am"))  # supersedes d2
    assert queue.get("d2").state is DeliveryState.SUPERSEDED
    queue.mark_delivered("d3", Attempt(T0 + timedelta(seconds=4), Outcome.DELIVERED, 200))
    queue.mark_failed("d1", Attempt(T0 + timedelta(seconds=70), Outcome.PERMANENT, 400, "HTTP 400"))
    d1 = queue.get("d1")
    assert d1.state is DeliveryState.FAILED and [a.status_code for a in d1.attempts] == [503, 400]
    assert [d.id for d in queue.deliveries(state=DeliveryState.DELIVERED)] == ["d3"]
    assert [d.id for d in queue.deliveries(receiver="hook")] == ["d1", "d2", "d3"]
    with pytest.raises(UnknownDeliveryError):
        queue.dead_letter("nope", fail)


def test_duckdb_state_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "b.duckdb"
    with Store.open(path, StoreConfig(maintenance=False)) as store:
        _advance(DuckAlertingStore(store), {"a": True}, T0)
        DuckDeliveryQueue(store).enqueue(_delivery(1))
    with Store.open(path, StoreConfig(maintenance=False)) as store:
        alerts = DuckAlertingStore(store)
        assert [a.labels["device"] for a in alerts.alerts()] == ["a"]
        assert alerts.last_evaluated_at("Hot") == T0
        assert [d.id for d in DuckDeliveryQueue(store).due(T0 + timedelta(seconds=2))] == ["d1"]
