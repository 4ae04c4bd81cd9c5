"""What alerting needs a store to keep, as Protocols, and an in-memory implementation.

A DuckDB store implements the same Protocols; the in-memory one serves tests and
ephemeral ``--insecure-dev`` runs where state is not kept across restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from ._alert import Alert, RuleEvaluation, Transition
from ._dispatch import GroupState
from ._silence import Ack, Silence

RuleRun = tuple[datetime | None, str | None, int]
"""A rule's last evaluation time, its last error (``None`` when it succeeded) and how many
evaluations were skipped after downtime, in total."""

__all__ = [
    "AckStore",
    "AlertStore",
    "AlertingStore",
    "GroupStore",
    "InMemoryAlertingStore",
    "RuleRun",
    "SilenceStore",
]


@runtime_checkable
class AlertStore(Protocol):
    """Current alerts (pending, firing and recently resolved), their history and the time
    each rule was last evaluated, so a restart resumes where it stopped."""

    def alerts(self, *, rule: str | None = None) -> list[Alert]:
        """Current alerts, optionally of one rule."""

    def save_evaluation(self, rule: str, evaluation: RuleEvaluation, at: datetime) -> None:
        """Atomically: upsert ``evaluation.alerts``, delete ``evaluation.removed``, append
        ``evaluation.transitions`` to the history, and set the rule's last evaluation time."""

    def last_evaluated_at(self, rule: str) -> datetime | None:
        """When ``rule`` was last evaluated, if ever."""

    def record_run(self, rule: str, at: datetime, error: str | None, *, skipped: int = 0) -> None:
        """Stamp an evaluation that changed no alert (it failed with ``error``, or found
        nothing new) and add ``skipped`` to the evaluations skipped after downtime."""

    def rule_runs(self) -> dict[str, RuleRun]:
        """Per rule ever evaluated: last evaluation time, last error, evaluations skipped."""

    def history(self, *, fingerprint: str | None = None) -> list[Transition]:
        """State changes, oldest first."""


@runtime_checkable
class SilenceStore(Protocol):
    """Silences, including expired ones (kept for the record)."""

    def put_silence(self, silence: Silence) -> None:
        """Insert or replace a silence by id."""

    def silence(self, silence_id: str) -> Silence | None:
        """One silence."""

    def silences(self) -> list[Silence]:
        """All silences, oldest first."""


@runtime_checkable
class AckStore(Protocol):
    """Acknowledgements, one per alert fingerprint."""

    def put_ack(self, ack: Ack) -> None:
        """Insert or replace the ack of ``ack.fingerprint``."""

    def remove_ack(self, fingerprint: str) -> bool:
        """Drop an ack; whether there was one."""

    def acks(self) -> list[Ack]:
        """All acks."""


@runtime_checkable
class GroupStore(Protocol):
    """Notification groups: what each receiver was last told and when to look again."""

    def groups(self) -> list[GroupState]:
        """All groups."""

    def save_groups(self, groups: Iterable[GroupState], removed: Iterable[str]) -> None:
        """Atomically upsert ``groups`` by key and delete the ``removed`` keys."""


@runtime_checkable
class AlertingStore(AlertStore, SilenceStore, AckStore, GroupStore, Protocol):
    """Everything the alert engine persists, in one object (one DuckDB file)."""


class InMemoryAlertingStore:
    """An :class:`AlertingStore` in dicts, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: dict[str, Alert] = {}
        self._history: list[Transition] = []
        self._runs: dict[str, RuleRun] = {}
        self._silences: dict[str, Silence] = {}
        self._acks: dict[str, Ack] = {}
        self._groups: dict[str, GroupState] = {}

    def alerts(self, *, rule: str | None = None) -> list[Alert]:
        with self._lock:
            return [a for a in self._alerts.values() if rule is None or a.rule == rule]

    def save_evaluation(self, rule: str, evaluation: RuleEvaluation, at: datetime) -> None:
        with self._lock:
            for fp in evaluation.removed:
                self._alerts.pop(fp, None)
            self._alerts.update({a.fingerprint: a for a in evaluation.alerts})
            self._history.extend(evaluation.transitions)
            self._stamp(rule, at, None, 0)

    def _stamp(self, rule: str, at: datetime, error: str | None, skipped: int) -> None:
        self._runs[rule] = (at, error, self._runs.get(rule, (None, None, 0))[2] + skipped)

    def last_evaluated_at(self, rule: str) -> datetime | None:
        with self._lock:
            return self._runs.get(rule, (None, None, 0))[0]

    def record_run(self, rule: str, at: datetime, error: str | None, *, skipped: int = 0) -> None:
        with self._lock:
            self._stamp(rule, at, error, skipped)

    def rule_runs(self) -> dict[str, RuleRun]:
        with self._lock:
            return dict(self._runs)

    def history(self, *, fingerprint: str | None = None) -> list[Transition]:
        with self._lock:
            return [t for t in self._history if fingerprint is None or t.fingerprint == fingerprint]

    def put_silence(self, silence: Silence) -> None:
        with self._lock:
            self._silences[silence.id] = silence

    def silence(self, silence_id: str) -> Silence | None:
        with self._lock:
            return self._silences.get(silence_id)

    def silences(self) -> list[Silence]:
        with self._lock:
            return sorted(self._silences.values(), key=lambda s: s.created_at)

    def put_ack(self, ack: Ack) -> None:
        with self._lock:
            self._acks[ack.fingerprint] = ack

    def remove_ack(self, fingerprint: str) -> bool:
        with self._lock:
            return self._acks.pop(fingerprint, None) is not None

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks.values())

    def groups(self) -> list[GroupState]:
        with self._lock:
            return list(self._groups.values())

    def save_groups(self, groups: Iterable[GroupState], removed: Iterable[str]) -> None:
        with self._lock:
            for key in removed:
                self._groups.pop(key, None)
            self._groups.update({g.key: g for g in groups})
