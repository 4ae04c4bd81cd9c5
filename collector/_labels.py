"""Late labels joined on the device: a bounded table of recent predictions, and the counts a
label turns them into, per interval of the inference (not of the label's arrival).

The hot path writes each prediction's class and score into a fixed ring (``PendingTable``)
under the recorder's lock; its id is a sequence number whose high bits are a per-start epoch,
so an id from before a restart never names a newer prediction. ``LabelJoiner.label`` runs off
the hot path: it looks the id up, finds the export interval the inference fell in, and adds
one to that interval's confusion cell (classification) or its error (regression). Labels that
find nothing are counted by reason, never raised.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewatch.collector import semconv

EPOCH_SHIFT = 40
"""Ids are ``epoch << 40 | sequence``: 10^12 inferences per process start before they wrap."""
STATE_FILE = "labels.json"
NO_CLASS = -1

IntervalKey = int | tuple[int, int]
"""An interval of this process by its first id, or one restored from a previous start by
its ``(start_ns, end_ns)``."""


def capacity_for(max_pending: int) -> int:
    """The ring's size: ``max_pending`` rounded up to a power of two (0 disables labelling)."""
    if max_pending <= 0:
        return 0
    return 1 << (max_pending - 1).bit_length()


class PendingTable:
    """The ring of recent predictions (class index, score), indexed by ``id & mask``.

    Written only under the recorder's hot lock; read by the joiner, which checks afterwards
    that the slot was not reused meanwhile.
    """

    __slots__ = ("capacity", "cls", "mask", "score")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0 or capacity & (capacity - 1):
            raise ValueError(f"capacity must be a positive power of two, got {capacity}")
        self.capacity = capacity
        self.mask = capacity - 1
        self.cls = [NO_CLASS] * capacity
        self.score = [math.nan] * capacity

    def put(self, first_id: int, cls: list[int], score: list[float]) -> None:
        """Store consecutive predictions from ``first_id`` (only the newest ``capacity`` stay)."""
        n = len(cls)
        skip = max(0, n - self.capacity)
        i = first_id + skip
        for k in range(skip, n):
            slot = i & self.mask
            self.cls[slot] = cls[k]
            self.score[slot] = score[k]
            i += 1


@dataclass(frozen=True, slots=True)
class LabelWindow:
    """What labels reported about the inferences of one past interval."""

    start_ns: int
    end_ns: int
    confusion: Mapping[tuple[str, str], int]
    """(predicted class, true class) → labelled predictions."""
    errors: tuple[float, ...]
    """prediction - truth of each labelled regression prediction."""


@dataclass(frozen=True, slots=True)
class LabelSnapshot:
    """Labels joined since the last export, grouped by the interval of their inference."""

    windows: tuple[LabelWindow, ...] = ()
    unmatched: Mapping[str, int] | None = None


@dataclass(slots=True)
class _Counts:
    confusion: dict[tuple[str, str], int]
    errors: list[float]


class LabelJoiner:
    """Joins late labels to the predictions in a ``PendingTable`` (see module docstring)."""

    def __init__(
        self,
        table: PendingTable,
        epoch: int,
        next_id: Callable[[], int],
        class_label: Callable[[int], str],
        known_classes: Callable[[], tuple[str, ...]],
        *,
        fixed_classes: bool,
        max_classes: int,
        restored: Mapping[int, tuple[str | None, float, int, int]] | None = None,
    ) -> None:
        self._table = table
        self.epoch = epoch
        self.first_id = self.first_id_of(epoch)
        self._next_id = next_id
        self._class_label = class_label
        self._known_classes = known_classes
        self._fixed = fixed_classes
        self._max_classes = max_classes
        self._lock = threading.Lock()
        self._restored = dict(restored or {})
        self._labelled: set[int] = set()
        self._firsts: list[int] = [self.first_id]  # first id of each interval, the open one last
        self._bounds: dict[int, tuple[int, int]] = {}  # closed intervals: first id → (start, end)
        self._true_classes: dict[str, str] = {}
        self._counts: dict[IntervalKey, _Counts] = {}
        self._unmatched: dict[str, int] = {}

    @staticmethod
    def first_id_of(epoch: int) -> int:
        """The first inference id of a process start with ``epoch``."""
        return epoch << EPOCH_SHIFT

    # ---- labelling (application threads, off the hot path) ---------------------------------

    def label(self, inference_id: int, truth: Any) -> bool:
        """Join ``truth`` to the prediction ``inference_id``; False (and counted) when it cannot."""
        with self._lock:
            reason = self._label_locked(int(inference_id), truth)
            if reason is None:
                return True
            self._unmatched[reason] = self._unmatched.get(reason, 0) + 1
            return False

    def count_unmatched(self, reason: str, n: int = 1) -> None:
        """Count labels that were refused before reaching the table (e.g. a bad id type)."""
        with self._lock:
            self._unmatched[reason] = self._unmatched.get(reason, 0) + n

    def _label_locked(self, i: int, truth: Any) -> str | None:
        old = self._restored.get(i)
        if old is not None:
            cls_label, score, start_ns, end_ns = old
            reason = self._add((start_ns, end_ns), cls_label, score, truth)
            if reason is None:
                del self._restored[i]
            return reason
        nxt = self._next_id()
        if not self.first_id <= i < nxt:
            return semconv.LABEL_UNKNOWN
        if i < nxt - self._table.capacity:
            return semconv.LABEL_EVICTED
        if i in self._labelled:
            return semconv.LABEL_DUPLICATE
        slot = i & self._table.mask
        cls, score = self._table.cls[slot], self._table.score[slot]
        if i < self._next_id() - self._table.capacity:  # overwritten while we read it
            return semconv.LABEL_EVICTED
        key = self._firsts[bisect.bisect_right(self._firsts, i) - 1]
        cls_label = None if cls == NO_CLASS else self._class_label(cls)
        reason = self._add(key, cls_label, score, truth)
        if reason is None:
            self._labelled.add(i)
        return reason

    def _add(self, key: IntervalKey, cls_label: str | None, score: float, truth: Any) -> str | None:
        if cls_label is not None:
            actual = self._true_class(truth)
            counts = self._counts_for(key)
            cell = (cls_label, actual)
            counts.confusion[cell] = counts.confusion.get(cell, 0) + 1
            return None
        if math.isnan(score):
            return semconv.LABEL_INVALID
        try:
            error = score - float(truth)
        except (TypeError, ValueError):
            return semconv.LABEL_INVALID
        if not math.isfinite(error):
            return semconv.LABEL_INVALID
        self._counts_for(key).errors.append(error)
        return None

    def _counts_for(self, key: IntervalKey) -> _Counts:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = _Counts({}, [])
        return counts

    def _true_class(self, truth: Any) -> str:
        """The true class as a wire label, capped like the predicted classes."""
        text = str(truth.item() if hasattr(truth, "item") else truth)
        known = self._true_classes.get(text)
        if known is not None:
            return known
        predicted = self._known_classes()
        learnt = {v for v in self._true_classes.values() if v != semconv.OTHER_CATEGORY}
        if text in predicted:
            label = text
        elif self._fixed or len(set(predicted) | learnt) >= self._max_classes:
            label = semconv.OTHER_CATEGORY
        else:
            label = text
        if len(self._true_classes) < 4 * self._max_classes:  # memo bounded like the classes
            self._true_classes[text] = label
        return label

    # ---- export (collector thread) ---------------------------------------------------------

    def take(self, end_id: int, start_ns: int, end_ns: int) -> LabelSnapshot:
        """Close the interval of ids below ``end_id`` and hand over what labels joined so far."""
        with self._lock:
            open_first = self._firsts[-1]
            self._bounds[open_first] = (start_ns, end_ns)
            self._firsts.append(end_id)
            windows = []
            for key, counts in self._counts.items():
                start, end = key if isinstance(key, tuple) else self._bounds[key]
                windows.append(LabelWindow(start, end, counts.confusion, tuple(counts.errors)))
            self._counts = {}
            unmatched, self._unmatched = self._unmatched, {}
            self._prune(end_id)
        windows.sort(key=lambda w: (w.start_ns, w.end_ns))
        return LabelSnapshot(tuple(windows), unmatched or None)

    def _prune(self, end_id: int) -> None:
        """Forget intervals and labelled ids the ring no longer holds."""
        oldest = max(self.first_id, end_id - self._table.capacity)
        while len(self._firsts) > 1 and self._firsts[1] <= oldest:
            self._bounds.pop(self._firsts.pop(0), None)
        self._labelled = {i for i in self._labelled if i >= oldest}

    # ---- persistence across restarts --------------------------------------------------------

    def state(self, end_id: int) -> dict[str, Any]:
        """Unlabelled predictions of closed intervals (at most ``capacity``), for the next start."""
        with self._lock:
            entries: dict[int, tuple[str | None, float, int, int]] = dict(self._restored)
            nxt = self._next_id()
            oldest = max(self.first_id, nxt - self._table.capacity)
            for i in range(oldest, min(end_id, nxt)):
                if i in self._labelled:
                    continue
                key = self._firsts[bisect.bisect_right(self._firsts, i) - 1]
                bounds = self._bounds.get(key)
                if bounds is None:
                    continue
                slot = i & self._table.mask
                cls = self._table.cls[slot]
                label = None if cls == NO_CLASS else self._class_label(cls)
                entries[i] = (label, self._table.score[slot], *bounds)
        newest = sorted(entries)[-self._table.capacity :]
        return {
            "epoch": self.epoch,
            "pending": [[i, *entries[i]] for i in newest],
        }


def load_state(spool_dir: Path) -> tuple[int, dict[int, tuple[str | None, float, int, int]]]:
    """The epoch for this start and the previous start's unlabelled predictions (none if unreadable)."""
    try:
        data = json.loads((spool_dir / STATE_FILE).read_text())
        epoch = int(data["epoch"]) + 1
        pending = {
            int(i): (None if c is None else str(c), float(s), int(a), int(b))
            for i, c, s, a, b in data["pending"]
        }
        return epoch, pending
    except (OSError, ValueError, KeyError, TypeError):
        return _fresh_epoch(), {}


def _fresh_epoch() -> int:
    """Without a readable state file: an epoch unlikely to repeat (ids of a lost table stay unknown)."""
    return int.from_bytes(os.urandom(2), "big") + 1


def save_state(spool_dir: Path, state: Mapping[str, Any]) -> None:
    """Write the state atomically: temp file, fsync, rename."""
    path = spool_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
