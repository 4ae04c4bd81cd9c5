"""Grouping and notification timing with Alertmanager's semantics, as a pure function.

Firing alerts are grouped per receiver by the receiver's ``group_by`` labels. A new group
waits ``group_wait`` after its first alert fired, then flushes; afterwards it is looked at
every ``group_interval`` and notifies when its set of firing alerts grew, when all of them
resolved, when new ones resolved (``send_resolved``), or when ``repeat_interval`` passed
(the notification log logic of Alertmanager's ``DedupStage``). Muted alerts (silenced or
inhibited) never appear in a notification. Alertmanager receivers are not grouped here:
the relay sends them every firing alert each ``resend_interval``, as Prometheus does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ._alert import Alert, AlertState
from ._config import ReceiverConfig, ReceiverKind, RuleSet
from ._time import format_time, parse_time, require_aware

__all__ = ["DispatchResult", "GroupState", "Notification", "dispatch", "group_key"]


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one receiver about one group of alerts (firing first, then resolved)."""

    id: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    created_at: datetime

    @property
    def status(self) -> str:
        """``firing`` when any alert in it fires, else ``resolved``."""
        return "firing" if any(a.state is AlertState.FIRING for a in self.alerts) else "resolved"


@dataclass(frozen=True, slots=True)
class GroupState:
    """What a store keeps per notification group: its members and what was last notified."""

    key: str
    receiver: str
    group_labels: Mapping[str, str]
    members: frozenset[str]
    next_flush_at: datetime
    has_flushed: bool = False
    last_notified_at: datetime | None = None
    notified_firing: frozenset[str] = frozenset()
    notified_resolved: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage."""
        return {
            "key": self.key,
            "receiver": self.receiver,
            "group_labels": dict(self.group_labels),
            "members": sorted(self.members),
            "next_flush_at": format_time(self.next_flush_at),
            "has_flushed": self.has_flushed,
            "last_notified_at": None
            if self.last_notified_at is None
            else format_time(self.last_notified_at),
            "notified_firing": sorted(self.notified_firing),
            "notified_resolved": sorted(self.notified_resolved),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupState:
        """Inverse of :meth:`to_dict`."""
        last = data.get("last_notified_at")
        return cls(
            key=str(data["key"]),
            receiver=str(data["receiver"]),
            group_labels={str(k): str(v) for k, v in data["group_labels"].items()},
            members=frozenset(data["members"]),
            next_flush_at=parse_time(data["next_flush_at"]),
            has_flushed=bool(data["has_flushed"]),
            last_notified_at=None if last is None else parse_time(last),
            notified_firing=frozenset(data["notified_firing"]),
            notified_resolved=frozenset(data["notified_resolved"]),
        )


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """Notifications to enqueue, the groups' new states and the keys of groups now gone."""

    notifications: tuple[Notification, ...]
    groups: tuple[GroupState, ...]
    removed_groups: tuple[str, ...]


def group_key(receiver: str, group_labels: Mapping[str, str]) -> str:
    """Alertmanager-style key, e.g. ``{receiver="oncall"}:{alertname="DeviceOffline"}``."""
    inner = ",".join(f'{k}="{group_labels[k]}"' for k in sorted(group_labels))
    return f'{{receiver="{receiver}"}}:{{{inner}}}'


def _group_labels(config: ReceiverConfig, labels: Mapping[str, str]) -> dict[str, str]:
    if config.timing.group_by is None:
        return dict(labels)
    return {k: labels[k] for k in config.timing.group_by if k in labels}


def dispatch(
    ruleset: RuleSet,
    alerts: Iterable[Alert],
    groups: Iterable[GroupState],
    now: datetime,
    *,
    muted: Collection[str] = frozenset(),
    acked: Collection[str] = frozenset(),
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> DispatchResult:
    """Decide which notifications are due at ``now``.

    ``muted`` holds fingerprints silenced or inhibited now; ``acked`` those acknowledged (an
    acknowledged group is not repeated, but still hears about new and resolved alerts).
    """
    now = require_aware(now, "now")
    by_fp = {a.fingerprint: a for a in alerts if a.state is not AlertState.PENDING}
    states = {g.key: g for g in groups}
    routed: dict[str, list[Alert]] = {r.name: [] for r in ruleset.receivers}
    rules = {r.name: r for r in ruleset.rules}
    for alert in by_fp.values():
        rule = rules.get(alert.rule)
        names = ruleset.receivers_for(rule) if rule else ruleset.default_receivers
        for name in names:
            if name in routed:
                routed[name].append(alert)

    notifications: list[Notification] = []
    kept: list[GroupState] = []
    live: set[str] = set()
    for config in ruleset.receivers:
        if config.kind is ReceiverKind.ALERTMANAGER:
            relay = _relay(config, routed[config.name], states, now, muted, new_id)
            if relay is not None:
                state, note = relay
                live.add(state.key)
                kept.append(state)
                if note is not None:
                    notifications.append(note)
            continue
        for state in _grouped(config, routed[config.name], states, now):
            live.add(state.key)
            flushed = _flush(config, state, by_fp, now, muted, acked, new_id)
            if flushed is None:
                kept.append(state)
                continue
            state, note = flushed
            if note is not None:
                notifications.append(note)
            if state.members:
                kept.append(state)
            else:
                live.discard(state.key)
    removed = tuple(sorted(set(states) - live))
    return DispatchResult(tuple(notifications), tuple(kept), removed)


def _grouped(
    config: ReceiverConfig,
    alerts: list[Alert],
    states: Mapping[str, GroupState],
    now: datetime,
) -> list[GroupState]:
    """The receiver's groups with this round's firing alerts added and vanished ones dropped."""
    present = {a.fingerprint for a in alerts}
    wait = timedelta(seconds=config.timing.group_wait_s)
    current: dict[str, GroupState] = {
        k: replace(g, members=g.members & present)
        for k, g in states.items()
        if g.receiver == config.name and not k.endswith(":relay")
    }
    for alert in alerts:
        if alert.state is not AlertState.FIRING:
            continue
        labels = _group_labels(config, alert.labels)
        key = group_key(config.name, labels)
        due = (alert.fired_at or now) + wait
        group = current.get(key)
        if group is None:
            current[key] = GroupState(key, config.name, labels, frozenset({alert.fingerprint}), due)
        else:
            next_flush = group.next_flush_at if group.has_flushed else min(group.next_flush_at, due)
            current[key] = replace(
                group, members=group.members | {alert.fingerprint}, next_flush_at=next_flush
            )
    return [g for g in current.values() if g.members or g.has_flushed]


def _flush(
    config: ReceiverConfig,
    group: GroupState,
    by_fp: Mapping[str, Alert],
    now: datetime,
    muted: Collection[str],
    acked: Collection[str],
    new_id: Callable[[], str],
) -> tuple[GroupState, Notification | None] | None:
    """``None`` when the group is not due; else its new state and maybe a notification."""
    if now < group.next_flush_at:
        return None
    members = [by_fp[fp] for fp in sorted(group.members)]
    resolved_all = {a.fingerprint for a in members if a.state is AlertState.RESOLVED}
    visible = [a for a in members if a.fingerprint not in muted]
    firing = {a.fingerprint for a in visible if a.state is AlertState.FIRING}
    resolved = {a.fingerprint for a in visible if a.state is AlertState.RESOLVED}
    after = replace(
        group,
        has_flushed=True,
        next_flush_at=now + timedelta(seconds=config.timing.group_interval_s),
        members=group.members - resolved_all,
    )
    if not visible:
        return after, None
    all_acked = bool(firing) and firing <= set(acked)
    if not _needs_update(group, firing, resolved, config, all_acked, now):
        return after, None
    after = replace(
        after,
        last_notified_at=now,
        notified_firing=frozenset(firing),
        notified_resolved=frozenset(resolved),
    )
    sent = [a for a in visible if a.fingerprint in firing]
    if config.send_resolved:
        sent += [a for a in visible if a.fingerprint in resolved]
    if not sent:
        return after, None
    note = Notification(new_id(), config.name, group.key, group.group_labels, tuple(sent), now)
    return after, note


def _needs_update(
    group: GroupState,
    firing: set[str],
    resolved: set[str],
    config: ReceiverConfig,
    all_acked: bool,
    now: datetime,
) -> bool:
    """Alertmanager's ``DedupStage.needsUpdate``, plus: acknowledged groups are not repeated."""
    if group.last_notified_at is None:
        return bool(firing)
    if not firing <= group.notified_firing:
        return True
    if not firing:
        return bool(group.notified_firing)
    if config.send_resolved and not resolved <= group.notified_resolved:
        return True
    if all_acked:
        return False
    return (now - group.last_notified_at).total_seconds() >= config.timing.repeat_interval_s


def _relay(
    config: ReceiverConfig,
    alerts: list[Alert],
    states: Mapping[str, GroupState],
    now: datetime,
    muted: Collection[str],
    new_id: Callable[[], str],
) -> tuple[GroupState, Notification | None] | None:
    """Prometheus' behaviour towards Alertmanager: every firing alert again each
    ``resend_interval`` (and at once on a change), resolved ones while they are retained."""
    key = group_key(config.name, {}) + ":relay"
    visible = [a for a in alerts if a.fingerprint not in muted]
    firing = frozenset(a.fingerprint for a in visible if a.state is AlertState.FIRING)
    resolved = frozenset(a.fingerprint for a in visible if a.state is AlertState.RESOLVED)
    state = states.get(key) or GroupState(key, config.name, {}, frozenset(), now)
    if not visible:
        return (state, None) if state.last_notified_at is not None else None
    changed = firing != state.notified_firing or not resolved <= state.notified_resolved
    due = state.last_notified_at is None or (
        (now - state.last_notified_at).total_seconds() >= config.resend_interval_s
    )
    if not (changed or due):
        return state, None
    ordered = sorted(visible, key=lambda a: (a.state is not AlertState.FIRING, a.fingerprint))
    state = replace(
        state,
        members=firing | resolved,
        has_flushed=True,
        next_flush_at=now + timedelta(seconds=config.resend_interval_s),
        last_notified_at=now,
        notified_firing=firing,
        notified_resolved=resolved,
    )
    return state, Notification(new_id(), config.name, key, {}, tuple(ordered), now)
