"""The delivery queue a store provides, and an in-memory one for tests and ephemeral runs."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from ._delivery import Attempt, Delivery, DeliveryState

__all__ = [
    "AttemptRecording",
    "DeliveryQueue",
    "InMemoryDeliveryQueue",
    "UnknownDeliveryError",
    "with_attempt",
]


class UnknownDeliveryError(KeyError):
    """An operation named a delivery id the queue does not hold."""


@runtime_checkable
class DeliveryQueue(Protocol):
    """Durable storage of deliveries. Implementations must be thread-safe: the notifier
    enqueues while the worker's threads record attempts."""

    def enqueue(self, delivery: Delivery) -> None:
        """Store a new pending delivery; pending ones with its ``coalesce_key`` become superseded."""

    def due(
        self, now: datetime, *, receiver: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries whose ``next_attempt_at`` is not after ``now``, oldest first."""

    def mark_attempt(self, delivery_id: str, attempt: Attempt, next_attempt_at: datetime) -> None:
        """Record a failed, retryable attempt and when to try again."""

    def mark_delivered(self, delivery_id: str, attempt: Attempt) -> None:
        """Record the successful attempt; the delivery is done."""

    def mark_failed(self, delivery_id: str, attempt: Attempt) -> None:
        """Record a permanent failure (a 4xx): not retried."""

    def dead_letter(self, delivery_id: str, attempt: Attempt) -> None:
        """Record the last retryable failure of a delivery too old to retry."""

    def get(self, delivery_id: str) -> Delivery | None:
        """One delivery with all its attempts."""

    def deliveries(
        self, *, state: DeliveryState | None = None, receiver: str | None = None
    ) -> list[Delivery]:
        """Deliveries filtered by state and receiver, oldest first."""


def with_attempt(
    old: Delivery, attempt: Attempt, state: DeliveryState, next_at: datetime | None
) -> Delivery:
    """``old`` with one more attempt, now in ``state``. A delivery superseded by a newer one
    meanwhile stays superseded instead of pending again; without ``next_at`` the schedule
    stays as it was."""
    if old.state is DeliveryState.SUPERSEDED and state is DeliveryState.PENDING:
        state = DeliveryState.SUPERSEDED
    return replace(
        old,
        attempts=(*old.attempts, attempt),
        state=state,
        next_attempt_at=next_at or old.next_attempt_at,
    )


class AttemptRecording(ABC):
    """The four ways an attempt ends, for a queue that can replace one stored delivery."""

    @abstractmethod
    def _record(
        self, delivery_id: str, attempt: Attempt, state: DeliveryState, next_at: datetime | None
    ) -> None:
        """Store ``with_attempt(...)`` of the delivery; ``UnknownDeliveryError`` when absent."""

    def mark_attempt(self, delivery_id: str, attempt: Attempt, next_attempt_at: datetime) -> None:
        """Record a failed, retryable attempt and when to try again."""
        self._record(delivery_id, attempt, DeliveryState.PENDING, next_attempt_at)

    def mark_delivered(self, delivery_id: str, attempt: Attempt) -> None:
        """Record the successful attempt; the delivery is done."""
        self._record(delivery_id, attempt, DeliveryState.DELIVERED, None)

    def mark_failed(self, delivery_id: str, attempt: Attempt) -> None:
        """Record a permanent failure (a 4xx): not retried."""
        self._record(delivery_id, attempt, DeliveryState.FAILED, None)

    def dead_letter(self, delivery_id: str, attempt: Attempt) -> None:
        """Record the last retryable failure of a delivery too old to retry."""
        self._record(delivery_id, attempt, DeliveryState.DEAD, None)


class InMemoryDeliveryQueue(AttemptRecording):
    """A :class:`DeliveryQueue` in a dict: for tests and ``--insecure-dev`` style ephemeral
    runs, where losing pending deliveries on exit is accepted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Delivery] = {}

    def enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery.id in self._items:
                raise ValueError(f"delivery {delivery.id} is already queued")
            if delivery.coalesce_key is not None:
                for key, old in self._items.items():
                    if (
                        old.coalesce_key == delivery.coalesce_key
                        and old.state is DeliveryState.PENDING
                    ):
                        self._items[key] = replace(old, state=DeliveryState.SUPERSEDED)
            self._items[delivery.id] = delivery

    def due(
        self, now: datetime, *, receiver: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        with self._lock:
            ready = [
                d
                for d in self._items.values()
                if d.state is DeliveryState.PENDING
                and d.next_attempt_at <= now
                and (receiver is None or d.receiver == receiver)
            ]
        ready.sort(key=lambda d: (d.next_attempt_at, d.created_at))
        return ready[:limit]

    def _record(
        self, delivery_id: str, attempt: Attempt, state: DeliveryState, next_at: datetime | None
    ) -> None:
        with self._lock:
            old = self._items.get(delivery_id)
            if old is None:
                raise UnknownDeliveryError(delivery_id)
            self._items[delivery_id] = with_attempt(old, attempt, state, next_at)

    def get(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            return self._items.get(delivery_id)

    def deliveries(
        self, *, state: DeliveryState | None = None, receiver: str | None = None
    ) -> list[Delivery]:
        with self._lock:
            found = [
                d
                for d in self._items.values()
                if (state is None or d.state is state)
                and (receiver is None or d.receiver == receiver)
            ]
        return sorted(found, key=lambda d: d.created_at)
