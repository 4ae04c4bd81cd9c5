"""The delivery worker: one thread per receiver drains the queue, so a slow or dead receiver
delays only its own deliveries and never ingest, evaluation or the other receivers."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from edgewatch.contract import utc_now

from ._delivery import Delivery, DeliveryState, RetryPolicy
from ._queue import DeliveryQueue
from ._receivers import Receiver

__all__ = ["DeliveryWorker"]

_log = logging.getLogger("edgewatch.server.alert")


class DeliveryWorker:
    """Attempts due deliveries and records each attempt. ``start`` / ``stop`` are idempotent;
    ``stop`` waits for in-flight attempts (bounded by the receivers' timeouts)."""

    def __init__(
        self,
        queue: DeliveryQueue,
        receivers: Mapping[str, Receiver],
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        poll_interval_s: float = 1.0,
        batch_size: int = 50,
        seed: int | None = None,
    ) -> None:
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0, got {poll_interval_s}")
        self._queue = queue
        self._receivers = dict(receivers)
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stop = threading.Event()
        self._wakeups = {name: threading.Event() for name in self._receivers}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one daemon thread per receiver."""
        if self._threads:
            return
        self._stop.clear()
        for name in self._receivers:
            thread = threading.Thread(
                target=self._run, args=(name,), name=f"edgewatch-delivery-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for due deliveries now instead of at the next poll (call after enqueueing)."""
        for event in self._wakeups.values():
            event.set()

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stop the threads; ``True`` when all ended within ``timeout_s``."""
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout_s)
        alive = any(t.is_alive() for t in self._threads)
        self._threads = [t for t in self._threads if t.is_alive()]
        return not alive

    def run_once(self, receiver: str) -> int:
        """Attempt every delivery due now for ``receiver``; the number attempted."""
        sender = self._receivers[receiver]
        done = 0
        for delivery in self._queue.due(self._clock(), receiver=receiver, limit=self._batch_size):
            if self._stop.is_set():
                break
            self._attempt(sender, delivery)
            done += 1
        return done

    def _attempt(self, sender: Receiver, delivery: Delivery) -> None:
        attempt = sender.send(delivery, self._clock())
        with self._rng_lock:
            decision = self._policy.decide(delivery, attempt, self._rng)
        if decision.state is DeliveryState.DELIVERED:
            self._queue.mark_delivered(delivery.id, attempt)
        elif decision.state is DeliveryState.FAILED:
            _log.error(
                "delivery %s to %s failed permanently: %s", delivery.id, sender.name, attempt.error
            )
            self._queue.mark_failed(delivery.id, attempt)
        elif decision.state is DeliveryState.DEAD:
            _log.error(
                "delivery %s to %s dead-lettered: %s", delivery.id, sender.name, attempt.error
            )
            self._queue.dead_letter(delivery.id, attempt)
        else:
            assert decision.next_attempt_at is not None
            self._queue.mark_attempt(delivery.id, attempt, decision.next_attempt_at)

    def _run(self, receiver: str) -> None:
        wakeup = self._wakeups[receiver]
        while not self._stop.is_set():
            try:
                attempted = self.run_once(receiver)
            except Exception:
                # The worker must outlive a broken queue or receiver: log, back off, go on.
                _log.exception("delivery worker for %s: unexpected error", receiver)
                attempted = 0
            if attempted == 0:
                wakeup.wait(self._poll_interval_s)
                wakeup.clear()
