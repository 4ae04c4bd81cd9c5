"""DuckDB-backed :class:`AlertingStore` and :class:`DeliveryQueue`: the alerting Protocols
over the store's alerting tables, converting dataclasses through ``to_dict``/``from_dict``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from edgewatch.server.alert import (
    Ack,
    Alert,
    Attempt,
    AttemptRecording,
    Delivery,
    DeliveryState,
    GroupState,
    Outcome,
    RuleEvaluation,
    Silence,
    Transition,
    UnknownDeliveryError,
    with_attempt,
)
from edgewatch.server.store import StoreProtocol


class DuckAlertingStore:
    """Alerts, history, rule runs, silences, acks and groups in the server's DuckDB file."""

    def __init__(self, store: StoreProtocol) -> None:
        self._tables = store.alerting

    def alerts(self, *, rule: str | None = None) -> list[Alert]:
        return [Alert.from_dict(d) for d in self._tables.alerts(rule)]

    def save_evaluation(self, rule: str, evaluation: RuleEvaluation, at: datetime) -> None:
        self._tables.save_evaluation(
            rule,
            [a.to_dict() for a in evaluation.alerts],
            evaluation.removed,
            [t.to_dict() for t in evaluation.transitions],
            at,
        )

    def last_evaluated_at(self, rule: str) -> datetime | None:
        return self._tables.rule_runs().get(rule, (None, None, 0))[0]

    def record_run(self, rule: str, at: datetime, error: str | None, *, skipped: int = 0) -> None:
        """Stamp an evaluation that produced no state change (an error, or skipped ones)."""
        self._tables.record_run(rule, at, error, skipped=skipped)

    def rule_runs(self) -> dict[str, tuple[datetime | None, str | None, int]]:
        """Per rule: last evaluation time, last error, evaluations skipped."""
        return self._tables.rule_runs()

    def history(self, *, fingerprint: str | None = None) -> list[Transition]:
        return [Transition.from_dict(d) for d in self._tables.history(fingerprint)]

    def put_silence(self, silence: Silence) -> None:
        self._tables.put_silence(silence.to_dict(), silence.created_at)

    def silence(self, silence_id: str) -> Silence | None:
        found = self._tables.silences(silence_id)
        return Silence.from_dict(found[0]) if found else None

    def silences(self) -> list[Silence]:
        return [Silence.from_dict(d) for d in self._tables.silences()]

    def put_ack(self, ack: Ack) -> None:
        self._tables.put_ack(ack.to_dict())

    def remove_ack(self, fingerprint: str) -> bool:
        return self._tables.remove_ack(fingerprint)

    def acks(self) -> list[Ack]:
        return [Ack.from_dict(d) for d in self._tables.acks()]

    def groups(self) -> list[GroupState]:
        return [GroupState.from_dict(d) for d in self._tables.groups()]

    def save_groups(self, groups: Iterable[GroupState], removed: Iterable[str]) -> None:
        self._tables.save_groups([(g.key, g.to_dict()) for g in groups], removed)


class DuckDeliveryQueue(AttemptRecording):
    """The durable delivery queue: each write is committed before the call returns."""

    def __init__(self, store: StoreProtocol) -> None:
        self._table = store.deliveries

    def enqueue(self, delivery: Delivery) -> None:
        if not self._table.enqueue(
            delivery.to_dict(), delivery.created_at, delivery.next_attempt_at
        ):
            raise ValueError(f"delivery {delivery.id} is already queued")

    def due(
        self, now: datetime, *, receiver: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        return [Delivery.from_dict(d) for d in self._table.due(now, receiver, limit)]

    def _record(
        self, delivery_id: str, attempt: Attempt, state: DeliveryState, next_at: datetime | None
    ) -> None:
        def change(data: dict[str, Any]) -> dict[str, Any]:
            return with_attempt(Delivery.from_dict(data), attempt, state, next_at).to_dict()

        if not self._table.update(delivery_id, change):
            raise UnknownDeliveryError(delivery_id)

    def get(self, delivery_id: str) -> Delivery | None:
        found = self._table.get(delivery_id)
        return None if found is None else Delivery.from_dict(found)

    def deliveries(
        self, *, state: DeliveryState | None = None, receiver: str | None = None
    ) -> list[Delivery]:
        return [
            Delivery.from_dict(d)
            for d in self._table.select(None if state is None else state.value, receiver)
        ]

    def dead_letter_orphans(self, receivers: Iterable[str], now: datetime) -> int:
        """Dead-letter pending deliveries whose receiver no longer exists (after a reload)."""
        known = set(receivers)
        count = 0
        for name in self._table.pending_receivers():
            if name in known:
                continue
            for delivery in self.deliveries(state=DeliveryState.PENDING, receiver=name):
                attempt = Attempt(
                    at=now,
                    outcome=Outcome.PERMANENT,
                    error=f"receiver {name!r} was removed from the rules file",
                )
                self.dead_letter(delivery.id, attempt)
                count += 1
        return count
