"""Deliveries (one notification to one receiver) with every attempt, and the retry policy.

Classification follows the OpenTelemetry Collector's exporterhelper: 2xx is delivered;
429, 5xx and network errors are transient and retried with jittered exponential backoff,
honouring ``Retry-After``, until the delivery is older than the policy's max age, when it is
dead-lettered; any other status is a permanent failure and not retried.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ._time import format_time, parse_time

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryState",
    "Outcome",
    "RetryDecision",
    "RetryPolicy",
    "classify_status",
]


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    SUPERSEDED = "superseded"


class Outcome(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


def classify_status(status_code: int) -> Outcome:
    """2xx delivered; 429 and 5xx retryable; everything else (other 4xx, 3xx) permanent."""
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code == 429 or status_code >= 500:
        return Outcome.RETRYABLE
    return Outcome.PERMANENT


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a delivery."""

    at: datetime
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    duration_s: float = 0.0
    retry_after_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage and API answers."""
        return {
            "at": format_time(self.at),
            "outcome": self.outcome.value,
            "status_code": self.status_code,
            "error": self.error,
            "duration_s": self.duration_s,
            "retry_after_s": self.retry_after_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attempt:
        """Inverse of :meth:`to_dict`."""
        retry_after = data.get("retry_after_s")
        status = data.get("status_code")
        return cls(
            at=parse_time(data["at"]),
            outcome=Outcome(data["outcome"]),
            status_code=None if status is None else int(status),
            error=data.get("error"),
            duration_s=float(data.get("duration_s", 0.0)),
            retry_after_s=None if retry_after is None else float(retry_after),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification rendered for one receiver. ``id`` is the Standard Webhooks message id,
    the same on every attempt, so a receiver can drop duplicates. ``body`` is the exact JSON
    text sent. A new delivery with the same ``coalesce_key`` supersedes a pending one."""

    id: str
    receiver: str
    body: str
    created_at: datetime
    next_attempt_at: datetime
    group_key: str = ""
    fingerprints: tuple[str, ...] = ()
    state: DeliveryState = DeliveryState.PENDING
    attempts: tuple[Attempt, ...] = ()
    coalesce_key: str | None = None

    @property
    def last_error(self) -> str | None:
        """The last attempt's error or status, for display."""
        if not self.attempts or self.attempts[-1].outcome is Outcome.DELIVERED:
            return None
        last = self.attempts[-1]
        return last.error or f"HTTP {last.status_code}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage and API answers (the body holds no receiver secret)."""
        return {
            "id": self.id,
            "receiver": self.receiver,
            "body": self.body,
            "created_at": format_time(self.created_at),
            "next_attempt_at": format_time(self.next_attempt_at),
            "group_key": self.group_key,
            "fingerprints": list(self.fingerprints),
            "state": self.state.value,
            "attempts": [a.to_dict() for a in self.attempts],
            "coalesce_key": self.coalesce_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delivery:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            receiver=str(data["receiver"]),
            body=str(data["body"]),
            created_at=parse_time(data["created_at"]),
            next_attempt_at=parse_time(data["next_attempt_at"]),
            group_key=str(data.get("group_key", "")),
            fingerprints=tuple(data.get("fingerprints", ())),
            state=DeliveryState(data["state"]),
            attempts=tuple(Attempt.from_dict(a) for a in data.get("attempts", ())),
            coalesce_key=data.get("coalesce_key"),
        )


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The state after an attempt and, when still pending, when to try again."""

    state: DeliveryState
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, ``Retry-After`` honoured (up to a cap), and a max age."""

    initial_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    multiplier: float = 2.0
    jitter: float = 0.2
    max_age_s: float = 24 * 3600.0
    max_retry_after_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.initial_backoff_s <= 0 or self.max_backoff_s < self.initial_backoff_s:
            raise ValueError("need 0 < initial_backoff_s <= max_backoff_s")
        if self.multiplier < 1 or not 0 <= self.jitter < 1 or self.max_age_s <= 0:
            raise ValueError("need multiplier >= 1, 0 <= jitter < 1 and max_age_s > 0")

    def backoff_s(self, retry_number: int, rng: random.Random) -> float:
        """Wait before retry ``retry_number`` (1 for the first), jittered by ±``jitter``."""
        base = min(
            self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (retry_number - 1)
        )
        return base * rng.uniform(1 - self.jitter, 1 + self.jitter)

    def decide(self, delivery: Delivery, attempt: Attempt, rng: random.Random) -> RetryDecision:
        """What follows ``attempt`` (not yet in ``delivery.attempts``)."""
        if attempt.outcome is Outcome.DELIVERED:
            return RetryDecision(DeliveryState.DELIVERED)
        if attempt.outcome is Outcome.PERMANENT:
            return RetryDecision(DeliveryState.FAILED)
        wait = self.backoff_s(len(delivery.attempts) + 1, rng)
        if attempt.retry_after_s is not None:
            wait = max(wait, min(attempt.retry_after_s, self.max_retry_after_s))
        next_at = attempt.at + timedelta(seconds=wait)
        if (next_at - delivery.created_at).total_seconds() > self.max_age_s:
            return RetryDecision(DeliveryState.DEAD)
        return RetryDecision(DeliveryState.PENDING, next_at)
