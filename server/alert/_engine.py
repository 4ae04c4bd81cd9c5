"""The alert engine: the pure pieces wired to a store and a delivery queue.

The scheduler calls :meth:`AlertEngine.record_evaluation` after each evaluation of a rule
and :meth:`AlertEngine.dispatch` on a short tick (every few seconds); the delivery worker
sends what dispatch enqueued. People's actions (silence, ack) go through the engine too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._alert import Alert, Observation, RuleEvaluation, evaluate_rule
from ._config import ReceiverKind, RuleSet
from ._delivery import Delivery
from ._dispatch import dispatch
from ._inhibit import inhibitions
from ._matchers import Matcher
from ._payload import encode_body, render_body
from ._queue import DeliveryQueue
from ._silence import Ack, AckError, Silence, SilenceError, silencing
from ._store import AlertingStore
from ._time import require_aware

__all__ = ["AlertEngine", "AlertStatus"]


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """An alert with what people and other alerts did to it: for API answers."""

    alert: Alert
    silenced_by: tuple[str, ...] = ()
    inhibited_by: str | None = None
    ack: Ack | None = None

    @property
    def muted(self) -> bool:
        """Silenced or inhibited: no notification mentions it."""
        return bool(self.silenced_by) or self.inhibited_by is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the alert's fields plus ``silenced_by``, ``inhibited_by`` and ``ack``."""
        return {
            **self.alert.to_dict(),
            "silenced_by": list(self.silenced_by),
            "inhibited_by": self.inhibited_by,
            "ack": None if self.ack is None else self.ack.to_dict(),
        }


class AlertEngine:
    """Alert state, silences, acks and notifications over an :class:`AlertingStore`."""

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        store: AlertingStore,
        queue: DeliveryQueue,
        on_enqueue: Callable[[], None] | None = None,
    ) -> None:
        self._ruleset = ruleset
        self._store = store
        self._queue = queue
        self._on_enqueue = on_enqueue
        # Evaluations of different rules may arrive from several threads; dispatch reads
        # them all, so one lock keeps each step's view consistent.
        self._lock = threading.RLock()

    @property
    def ruleset(self) -> RuleSet:
        """The rules in force."""
        return self._ruleset

    def set_ruleset(self, ruleset: RuleSet) -> None:
        """Use new rules (after a successful reload); existing alerts and groups carry on."""
        with self._lock:
            self._ruleset = ruleset

    def record_evaluation(
        self, rule_name: str, observations: Iterable[Observation], now: datetime
    ) -> RuleEvaluation:
        """Advance ``rule_name``'s alerts with one evaluation's observations and persist them."""
        now = require_aware(now, "now")
        with self._lock:
            rule = self._ruleset.rule(rule_name)
            evaluation = evaluate_rule(rule, self._store.alerts(rule=rule_name), observations, now)
            self._store.save_evaluation(rule_name, evaluation, now)
            return evaluation

    def statuses(self, now: datetime) -> list[AlertStatus]:
        """Every current alert with its silences, inhibition and ack at ``now``."""
        now = require_aware(now, "now")
        with self._lock:
            alerts = self._store.alerts()
            silences = self._store.silences()
            acks = {a.fingerprint: a for a in self._store.acks()}
            inhibited = inhibitions(alerts, self._ruleset.inhibit_rules)
        out = []
        for alert in alerts:
            ack = acks.get(alert.fingerprint)
            out.append(
                AlertStatus(
                    alert,
                    tuple(silencing(alert.labels, silences, now)),
                    inhibited.get(alert.fingerprint),
                    ack if ack is not None and ack.applies_to(alert) else None,
                )
            )
        return out

    def dispatch(self, now: datetime) -> list[Delivery]:
        """Enqueue every notification due at ``now``; the deliveries enqueued."""
        now = require_aware(now, "now")
        with self._lock:
            statuses = self.statuses(now)
            muted = {s.alert.fingerprint for s in statuses if s.muted}
            acked = {s.alert.fingerprint for s in statuses if s.ack is not None}
            result = dispatch(
                self._ruleset,
                [s.alert for s in statuses],
                self._store.groups(),
                now,
                muted=muted,
                acked=acked,
            )
            deliveries = []
            for note in result.notifications:
                config = self._ruleset.receiver(note.receiver)
                body = render_body(note, config, self._ruleset.external_url)
                delivery = Delivery(
                    id=note.id,
                    receiver=note.receiver,
                    body=encode_body(body),
                    created_at=now,
                    next_attempt_at=now,
                    group_key=note.group_key,
                    fingerprints=tuple(a.fingerprint for a in note.alerts),
                    coalesce_key=note.receiver
                    if config.kind is ReceiverKind.ALERTMANAGER
                    else None,
                )
                # Enqueue before saving the group: a crash in between repeats a
                # notification rather than losing it (at least once).
                self._queue.enqueue(delivery)
                deliveries.append(delivery)
            self._store.save_groups(result.groups, result.removed_groups)
        if deliveries and self._on_enqueue is not None:
            self._on_enqueue()
        return deliveries

    def add_silence(
        self,
        matchers: Sequence[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        now: datetime,
    ) -> Silence:
        """Create and store a silence; :class:`SilenceError` if invalid."""
        silence = Silence.create(
            matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            now=now,
        )
        self._store.put_silence(silence)
        return silence

    def expire_silence(self, silence_id: str, now: datetime) -> Silence:
        """End a silence now; :class:`SilenceError` if unknown or already expired."""
        with self._lock:
            silence = self._store.silence(silence_id)
            if silence is None:
                raise SilenceError(f"no silence with id {silence_id!r}")
            expired = silence.expire(require_aware(now, "now"))
            self._store.put_silence(expired)
            return expired

    def acknowledge(self, fingerprint: str, *, author: str, comment: str, now: datetime) -> Ack:
        """Acknowledge the current alert with ``fingerprint``; :class:`AckError` if none."""
        with self._lock:
            alert = self._find(fingerprint)
            ack = Ack.create(alert, author=author, comment=comment, now=now)
            self._store.put_ack(ack)
            return ack

    def unacknowledge(self, fingerprint: str) -> bool:
        """Withdraw an acknowledgement; whether there was one."""
        return self._store.remove_ack(fingerprint)

    def _find(self, fingerprint: str) -> Alert:
        for alert in self._store.alerts():
            if alert.fingerprint == fingerprint:
                return alert
        raise AckError(f"no current alert with fingerprint {fingerprint!r}")
