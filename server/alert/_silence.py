"""Silences and acknowledgements: people's decisions about alerts, kept with author and reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ._alert import Alert, AlertState
from ._matchers import Matcher, matches_all
from ._time import format_time, parse_time, require_aware

__all__ = ["Ack", "AckError", "Silence", "SilenceError", "SilenceState", "silencing"]


class SilenceError(ValueError):
    """A silence that Alertmanager would refuse, or an operation it does not allow."""


class SilenceExpiredError(SilenceError):
    """Expiring a silence that has already expired: a conflict with its state, not bad input."""


class AckError(ValueError):
    """An acknowledgement of an alert that cannot be acknowledged."""


class SilenceState(StrEnum):
    """Whether a silence mutes alerts now."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes every alert whose labels match all ``matchers`` between ``starts_at`` and ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    @classmethod
    def create(
        cls,
        matchers: Sequence[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        now: datetime,
        silence_id: str | None = None,
    ) -> Silence:
        """A validated new silence; raises :class:`SilenceError` naming each problem."""
        problems = []
        if not matchers:
            problems.append("a silence needs at least one matcher")
        elif all(m.matches({}) for m in matchers):
            problems.append(
                "at least one matcher must not match the empty string, "
                "or the silence would mute every alert"
            )
        if ends_at <= starts_at:
            problems.append("ends_at must be after starts_at")
        if ends_at <= now:
            problems.append("ends_at is in the past")
        if not created_by.strip():
            problems.append("created_by must not be empty")
        if not comment.strip():
            problems.append("comment must not be empty")
        if problems:
            raise SilenceError("; ".join(problems))
        return cls(
            id=silence_id or str(uuid.uuid4()),
            matchers=tuple(matchers),
            starts_at=require_aware(starts_at, "starts_at"),
            ends_at=require_aware(ends_at, "ends_at"),
            created_by=created_by.strip(),
            comment=comment.strip(),
            created_at=require_aware(now, "now"),
        )

    def state(self, now: datetime) -> SilenceState:
        """Pending before ``starts_at``, active until ``ends_at``, expired after."""
        if now < self.starts_at:
            return SilenceState.PENDING
        if now < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether this silence mutes an alert with ``labels`` at ``now``."""
        return self.state(now) is SilenceState.ACTIVE and matches_all(self.matchers, labels)

    def expire(self, now: datetime) -> Silence:
        """The silence ended at ``now``; a pending one also starts at ``now`` (Alertmanager)."""
        state = self.state(now)
        if state is SilenceState.EXPIRED:
            raise SilenceExpiredError(f"silence {self.id} has already expired")
        if state is SilenceState.PENDING:
            return replace(self, starts_at=now, ends_at=now)
        return replace(self, ends_at=now)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage and API answers."""
        return {
            "id": self.id,
            "matchers": [m.to_dict() for m in self.matchers],
            "starts_at": format_time(self.starts_at),
            "ends_at": format_time(self.ends_at),
            "created_by": self.created_by,
            "comment": self.comment,
            "created_at": format_time(self.created_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            matchers=tuple(Matcher.from_dict(m) for m in data["matchers"]),
            starts_at=parse_time(data["starts_at"]),
            ends_at=parse_time(data["ends_at"]),
            created_by=str(data["created_by"]),
            comment=str(data["comment"]),
            created_at=parse_time(data["created_at"]),
        )


def silencing(labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> list[str]:
    """Ids of the silences that mute an alert with ``labels`` at ``now``."""
    return [s.id for s in silences if s.mutes(labels, now)]


@dataclass(frozen=True, slots=True)
class Ack:
    """Someone took an alert in hand. It binds to one episode (the alert's ``active_at``):
    if the alert resolves and fires again later, the old ack no longer applies."""

    fingerprint: str
    active_at: datetime
    author: str
    comment: str
    at: datetime

    @classmethod
    def create(cls, alert: Alert, *, author: str, comment: str, now: datetime) -> Ack:
        """Acknowledge ``alert``; raises :class:`AckError` for a resolved alert or no author."""
        if alert.state is AlertState.RESOLVED:
            raise AckError(
                f"alert {alert.fingerprint} is resolved; there is nothing to acknowledge"
            )
        if not author.strip():
            raise AckError("author must not be empty")
        return cls(
            alert.fingerprint, alert.active_at, author.strip(), comment.strip(), require_aware(now)
        )

    def applies_to(self, alert: Alert) -> bool:
        """Whether this ack covers ``alert``'s current episode."""
        return (
            alert.fingerprint == self.fingerprint
            and alert.active_at == self.active_at
            and alert.state is not AlertState.RESOLVED
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage and API answers."""
        return {
            "fingerprint": self.fingerprint,
            "active_at": format_time(self.active_at),
            "author": self.author,
            "comment": self.comment,
            "at": format_time(self.at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ack:
        """Inverse of :meth:`to_dict`."""
        return cls(
            fingerprint=str(data["fingerprint"]),
            active_at=parse_time(data["active_at"]),
            author=str(data["author"]),
            comment=str(data["comment"]),
            at=parse_time(data["at"]),
        )
