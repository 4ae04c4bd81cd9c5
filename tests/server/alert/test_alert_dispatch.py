"""Grouping and timing (group_wait, group_interval, repeat_interval), resolved notifications,
silences, inhibition and acknowledgements, with Alertmanager's semantics."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from edgewatch.server.alert import (
    DEFAULT_INHIBIT_RULES,
    Alert,
    AlertState,
    GroupState,
    GroupTiming,
    Notification,
    ReceiverConfig,
    ReceiverKind,
    Rule,
    RuleSet,
    Silence,
    Threshold,
    dispatch,
    fingerprint,
    generate_secret,
    inhibitions,
    parse_matcher,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = generate_secret()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def receiver(
    name: str = "hook",
    kind: ReceiverKind = ReceiverKind.WEBHOOK,
    *,
    group_by: tuple[str, ...] | None = ("alertname",),
    send_resolved: bool = True,
) -> ReceiverConfig:
    return ReceiverConfig(
        name,
        kind,
        "http://127.0.0.1:9/hook",
        SECRET if kind is ReceiverKind.WEBHOOK else None,
        send_resolved=send_resolved,
        timing=GroupTiming(group_by, 30.0, 300.0, 4 * 3600.0),
        resend_interval_s=60.0,
    )


def ruleset(*receivers: ReceiverConfig) -> RuleSet:
    rules = tuple(
        Rule(name=n, detector="psi", signal="s", threshold=Threshold.parse("> 1"))
        for n in ("DeviceOffline", "LatencyP95Regression", "FeatureDrift")
    )
    recv = receivers or (receiver(),)
    return RuleSet(rules, recv, tuple(r.name for r in recv), inhibit_rules=DEFAULT_INHIBIT_RULES)


def alert(name: str, device: str, fired_s: float, **extra: str) -> Alert:
    labels = {"alertname": name, "device": device, "severity": "warning", **extra}
    return Alert(
        fingerprint(labels),
        name,
        AlertState.FIRING,
        labels,
        {},
        at(fired_s - 60),
        at(fired_s),
        fired_at=at(fired_s),
    )


def resolve(a: Alert, when_s: float) -> Alert:
    return replace(a, state=AlertState.RESOLVED, resolved_at=at(when_s))


class Sim:
    """Calls dispatch like the engine does, keeping group state between ticks."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.groups: list[GroupState] = []

    def tick(
        self,
        now_s: float,
        alerts: Sequence[Alert],
        muted: Collection[str] = (),
        acked: Collection[str] = (),
    ) -> list[Notification]:
        result = dispatch(self.rules, alerts, self.groups, at(now_s), muted=muted, acked=acked)
        self.groups = list(result.groups)
        return list(result.notifications)


def fps(note: Notification) -> list[str]:
    return [a.labels["device"] for a in note.alerts]


def test_a_new_group_waits_group_wait_then_notifies() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    assert sim.tick(0, [a]) == []
    assert sim.tick(29, [a]) == []
    (note,) = sim.tick(30, [a])
    assert note.receiver == "hook" and note.status == "firing" and fps(note) == ["cam-1"]
    assert note.group_labels == {"alertname": "LatencyP95Regression"}
    assert note.group_key == '{receiver="hook"}:{alertname="LatencyP95Regression"}'


def test_later_alerts_join_the_group_at_the_next_group_interval() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    b = alert("LatencyP95Regression", "cam-2", 60)
    assert len(sim.tick(30, [a])) == 1
    assert sim.tick(100, [a, b]) == []  # group already flushed: no new group_wait
    (note,) = sim.tick(330, [a, b])
    assert sorted(fps(note)) == ["cam-1", "cam-2"]


def test_unchanged_groups_repeat_only_after_repeat_interval() -> None:
    sim = Sim(ruleset())
    a = alert("FeatureDrift", "cam-1", 0, feature="x")
    sent = [t for t in range(30, 4 * 3600 + 700, 300) if sim.tick(t, [a])]
    assert sent == [30, 30 + 48 * 300]  # the first flush, then the first look ≥ 4 h later


def test_resolution_is_notified_once_then_the_group_ends() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    sim.tick(30, [a])
    gone = resolve(a, 100)
    (note,) = sim.tick(330, [gone])
    assert note.status == "resolved" and note.alerts[0].state is AlertState.RESOLVED
    assert sim.groups == []
    assert sim.tick(630, [gone]) == []


def test_without_send_resolved_the_resolution_is_not_sent() -> None:
    sim = Sim(ruleset(receiver(send_resolved=False)))
    a = alert("LatencyP95Regression", "cam-1", 0)
    sim.tick(30, [a])
    assert sim.tick(330, [resolve(a, 100)]) == []
    assert sim.groups == []


def test_partial_resolution_is_sent_with_the_still_firing_alerts() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    b = alert("LatencyP95Regression", "cam-2", 0)
    sim.tick(30, [a, b])
    (note,) = sim.tick(330, [a, resolve(b, 100)])
    assert note.status == "firing"
    assert [(x.labels["device"], x.state.value) for x in note.alerts] == [
        ("cam-1", "firing"),
        ("cam-2", "resolved"),
    ]


def test_group_by_all_labels_gives_each_alert_its_own_group() -> None:
    sim = Sim(ruleset(receiver(group_by=None)))
    notes = sim.tick(30, [alert("FeatureDrift", "cam-1", 0), alert("FeatureDrift", "cam-2", 0)])
    assert sorted(n.group_labels["device"] for n in notes) == ["cam-1", "cam-2"]


def test_pending_alerts_are_never_notified() -> None:
    sim = Sim(ruleset())
    pending = replace(alert("FeatureDrift", "cam-1", 0), state=AlertState.PENDING, fired_at=None)
    assert sim.tick(3600, [pending]) == []


def test_a_silenced_alert_is_left_out_and_a_fully_silenced_group_sends_nothing() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    b = alert("LatencyP95Regression", "cam-2", 0)
    silence = Silence.create(
        [parse_matcher('device="cam-1"')],
        starts_at=at(0),
        ends_at=at(3600),
        created_by="ana",
        comment="maintenance",
        now=at(0),
    )
    muted = {x.fingerprint for x in (a, b) if silence.mutes(x.labels, at(30))}
    (note,) = sim.tick(30, [a, b], muted=muted)
    assert fps(note) == ["cam-2"]
    assert Sim(ruleset()).tick(30, [a], muted={a.fingerprint}) == []


def test_an_offline_device_inhibits_its_other_alerts_only() -> None:
    offline = alert("DeviceOffline", "cam-1", 0)
    latency_1 = alert("LatencyP95Regression", "cam-1", 0)
    latency_2 = alert("LatencyP95Regression", "cam-2", 0)
    muted = inhibitions([offline, latency_1, latency_2], DEFAULT_INHIBIT_RULES)
    assert muted == {latency_1.fingerprint: offline.fingerprint}
    # A resolved DeviceOffline inhibits nothing; nor does an alert inhibit itself.
    assert inhibitions([resolve(offline, 5), latency_1], DEFAULT_INHIBIT_RULES) == {}
    assert inhibitions([offline], DEFAULT_INHIBIT_RULES) == {}


def test_an_acknowledged_group_is_not_repeated_but_hears_about_new_alerts() -> None:
    sim = Sim(ruleset())
    a = alert("LatencyP95Regression", "cam-1", 0)
    sim.tick(30, [a])
    acked = {a.fingerprint}
    assert [t for t in range(330, 6 * 3600, 300) if sim.tick(t, [a], acked=acked)] == []
    b = alert("LatencyP95Regression", "cam-2", 6 * 3600)
    (note,) = sim.tick(6 * 3600 + 300, [a, b], acked=acked)
    assert sorted(fps(note)) == ["cam-1", "cam-2"]


def test_alertmanager_receivers_get_every_firing_alert_each_resend_interval() -> None:
    am = receiver("am", ReceiverKind.ALERTMANAGER)
    sim = Sim(ruleset(am))
    a = alert("FeatureDrift", "cam-1", 0)
    b = alert("FeatureDrift", "cam-2", 0)
    (first,) = sim.tick(0, [a])  # no group_wait: Alertmanager groups itself
    assert fps(first) == ["cam-1"]
    assert sim.tick(30, [a]) == []
    (changed,) = sim.tick(40, [a, b])
    assert sorted(fps(changed)) == ["cam-1", "cam-2"]
    (resent,) = sim.tick(100, [a, b])
    assert len(resent.alerts) == 2
    (resolved,) = sim.tick(110, [a, resolve(b, 105)])
    assert [x.state for x in resolved.alerts] == [AlertState.FIRING, AlertState.RESOLVED]


def test_group_state_round_trips() -> None:
    sim = Sim(ruleset())
    sim.tick(30, [alert("FeatureDrift", "cam-1", 0)])
    (group,) = sim.groups
    assert GroupState.from_dict(group.to_dict()) == group


devices = st.sampled_from(["cam-1", "cam-2", "cam-3", "gw-1"])
names = st.sampled_from(["DeviceOffline", "LatencyP95Regression", "FeatureDrift"])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(names, devices, st.integers(0, 2000)), min_size=1, max_size=8),
    st.lists(st.integers(0, 3000), min_size=1, max_size=25),
    st.sets(devices, max_size=2),
)
def test_silenced_alerts_never_reach_a_notification(
    specs: list[tuple[str, str, int]], ticks: list[int], silenced_devices: set[str]
) -> None:
    sim = Sim(ruleset())
    every = {
        fingerprint({"alertname": n, "device": d, "severity": "warning"}): (n, d, t)
        for n, d, t in specs
    }
    for now in sorted(set(ticks)):
        live = [alert(n, d, t) for n, d, t in every.values() if t <= now]
        muted = {a.fingerprint for a in live if a.labels["device"] in silenced_devices}
        for note in sim.tick(now, live, muted=muted):
            assert not {a.fingerprint for a in note.alerts} & muted


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(names, devices, st.integers(0, 1000)), min_size=1, max_size=8),
    st.lists(st.integers(0, 2000), min_size=1, max_size=30),
)
def test_every_firing_group_notifies_at_the_first_tick_after_group_wait(
    specs: list[tuple[str, str, int]], ticks: list[int]
) -> None:
    sim = Sim(ruleset())
    fired_s: dict[str, int] = {}
    alerts: dict[str, Alert] = {}
    for n, d, t in specs:
        a = alert(n, d, t)
        if t <= fired_s.get(a.fingerprint, t):
            alerts[a.fingerprint], fired_s[a.fingerprint] = a, t
    first_fired: dict[str, int] = {}
    for fp, a in alerts.items():
        first_fired[a.rule] = min(first_fired.get(a.rule, fired_s[fp]), fired_s[fp])
    notified: dict[str, int] = {}
    for now in sorted(set(ticks) | {2500}):
        live = [a for fp, a in alerts.items() if fired_s[fp] <= now]
        for note in sim.tick(now, live):
            notified.setdefault(note.group_labels["alertname"], now)
    for name, fired in first_fired.items():
        expected = min(t for t in sorted(set(ticks) | {2500}) if t >= fired + 30)
        assert notified[name] == expected
