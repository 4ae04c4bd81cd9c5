"""The alert state machine: pending → firing → resolved with ``for`` and ``keep_firing_for``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.server.alert import (
    Alert,
    AlertState,
    Observation,
    Rule,
    Template,
    Threshold,
    Transition,
    evaluate_rule,
    fingerprint,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CAM = {"device": "cam-1", "model": "det", "version": "3"}


def make_rule(for_s: float = 120.0, keep_s: float = 0.0) -> Rule:
    return Rule(
        name="LatencyP95Regression",
        detector="quantile_regression",
        signal="ml.inference.duration",
        threshold=Threshold.parse("> 0.25"),
        for_s=for_s,
        keep_firing_for_s=keep_s,
        labels={"team": Template("vision")},
        annotations={"summary": Template("{{ device }} p95 +{{ value:.0% }}")},
    )


def run(rule: Rule, steps: list[bool | None], every_s: float = 60.0) -> list[list[Alert]]:
    """Evaluate ``rule`` for CAM once per step; the alerts after each step."""
    alerts: list[Alert] = []
    seen = []
    for i, active in enumerate(steps):
        obs = [Observation(CAM, active, 0.4 if active else 0.1, 0.01)]
        alerts = list(evaluate_rule(rule, alerts, obs, T0 + timedelta(seconds=i * every_s)).alerts)
        seen.append(alerts)
    return seen


def states(history: list[list[Alert]]) -> list[str | None]:
    return [h[0].state.value if h else None for h in history]


def test_pending_until_the_condition_held_for_then_firing() -> None:
    history = run(make_rule(for_s=120), [True, True, True, True])
    assert states(history) == ["pending", "pending", "firing", "firing"]
    firing = history[2][0]
    assert firing.active_at == T0
    assert firing.fired_at == T0 + timedelta(seconds=120)
    assert firing.labels == {
        **CAM,
        "team": "vision",
        "alertname": "LatencyP95Regression",
        "severity": "warning",
    }
    assert firing.annotations == {"summary": "cam-1 p95 +40%"}
    assert firing.fingerprint == fingerprint(firing.labels)


def test_for_zero_fires_on_the_first_evaluation() -> None:
    assert states(run(make_rule(for_s=0), [True])) == ["firing"]


def test_a_pending_alert_whose_condition_stops_is_dropped() -> None:
    assert states(run(make_rule(for_s=300), [True, True, False])) == ["pending", "pending", None]


def test_firing_resolves_at_once_without_keep_firing_for() -> None:
    history = run(make_rule(for_s=0), [True, False])
    assert states(history) == ["firing", "resolved"]
    assert history[1][0].resolved_at == T0 + timedelta(seconds=60)


def test_keep_firing_for_holds_a_flapping_alert() -> None:
    history = run(
        make_rule(for_s=0, keep_s=150), [True, False, False, True, False, False, False, False]
    )
    assert states(history) == [
        "firing",
        "firing",
        "firing",
        "firing",
        "firing",
        "firing",
        "firing",
        "resolved",
    ]
    assert history[-1][0].active_at == T0  # one episode throughout


def test_insufficient_data_keeps_the_state_and_does_not_fire() -> None:
    history = run(make_rule(for_s=120), [True, None, None, True])
    assert states(history) == ["pending", "pending", "pending", "firing"]
    history = run(make_rule(for_s=0), [True, None, None])
    assert states(history) == ["firing", "firing", "firing"]


def test_resolved_alerts_leave_after_the_retention() -> None:
    rule = make_rule(for_s=0)
    alerts = list(evaluate_rule(rule, [], [Observation(CAM, True, 0.5)], T0).alerts)
    alerts = list(evaluate_rule(rule, alerts, [], T0 + timedelta(minutes=1)).alerts)
    assert alerts[0].state is AlertState.RESOLVED
    kept = evaluate_rule(rule, alerts, [], T0 + timedelta(minutes=10))
    assert [a.state for a in kept.alerts] == [AlertState.RESOLVED]
    gone = evaluate_rule(rule, alerts, [], T0 + timedelta(minutes=17))
    assert gone.alerts == () and gone.removed == (alerts[0].fingerprint,)


def test_a_resolved_alert_that_returns_starts_a_new_episode() -> None:
    history = run(make_rule(for_s=0), [True, False, True])
    assert states(history) == ["firing", "resolved", "firing"]
    assert history[2][0].active_at == T0 + timedelta(seconds=120)
    assert history[2][0].resolved_at is None


def test_transitions_record_the_history() -> None:
    rule = make_rule(for_s=60)
    out = evaluate_rule(rule, [], [Observation(CAM, True, 0.5)], T0)
    assert [(t.from_state, t.to_state) for t in out.transitions] == [(None, AlertState.PENDING)]
    out = evaluate_rule(rule, out.alerts, [Observation(CAM, True, 0.5)], T0 + timedelta(seconds=60))
    assert [(t.from_state, t.to_state) for t in out.transitions] == [
        (AlertState.PENDING, AlertState.FIRING)
    ]
    assert Transition.from_dict(out.transitions[0].to_dict()) == out.transitions[0]


def test_two_observations_with_one_identity_are_refused() -> None:
    with pytest.raises(ValueError, match="same alert labels"):
        evaluate_rule(make_rule(), [], [Observation(CAM, True), Observation(CAM, False)], T0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_rule(make_rule(), [], [], datetime(2026, 1, 1))


def test_alerts_survive_a_round_trip_through_dicts() -> None:
    history = run(make_rule(for_s=0, keep_s=120), [True, False])
    alert = history[-1][0]
    assert alert.keep_firing_since is not None
    assert Alert.from_dict(alert.to_dict()) == alert


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=30),
    st.sampled_from([0.0, 60.0, 180.0]),
    st.sampled_from([0.0, 60.0, 200.0]),
)
def test_state_machine_invariants(steps: list[bool | None], for_s: float, keep_s: float) -> None:
    """Firing only after the condition held ``for``; resolved only after ``keep_firing_for``
    without it; timestamps ordered."""
    history = run(make_rule(for_s=for_s, keep_s=keep_s), steps)
    for i, alerts in enumerate(history):
        now = T0 + timedelta(seconds=60 * i)
        for a in alerts:
            assert a.active_at <= now
            if a.state is AlertState.FIRING:
                assert a.fired_at is not None
                assert (a.fired_at - a.active_at).total_seconds() >= for_s
            if a.state is AlertState.RESOLVED:
                assert a.resolved_at is not None and a.fired_at is not None
                assert a.fired_at <= a.resolved_at <= now
                last_true = max(j for j in range(i + 1) if steps[j] is True)
                held = (a.resolved_at - (T0 + timedelta(seconds=60 * last_true))).total_seconds()
                assert held >= keep_s + 60.0
            if a.state is AlertState.PENDING:
                assert a.fired_at is None
