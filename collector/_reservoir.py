"""A uniform reservoir sample of the rows of one export interval, within a rows/bytes budget.

Reservoir sampling with geometric skips (Li's Algorithm L): per inference the hot path adds
the call's row count to a counter and compares it with the index of the next chosen row, so
rows between two choices cost one lock and one comparison. Only chosen rows are copied, and
only their allowed features. The budget sets the reservoir size of each interval so that
no hour sends more than ``rows_per_hour`` rows and no day more than ``bytes_per_day`` bytes.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgewatch.collector._sampling import Budget, SamplingConfig

HOUR_S = 3600.0
DAY_S = 86_400.0
MAX_RESERVOIR = 10_000
"""Rows kept per interval at most, whatever the budget (bounds memory)."""
_ROW_TYPES = (list, tuple, dict, np.ndarray)
_NEVER = math.inf


@dataclass(frozen=True, slots=True)
class SampledRow:
    """One chosen row: when, the allowed feature values, and the prediction."""

    time_unix_nano: int
    values: Mapping[str, float | str | None]
    prediction: str | None
    score: float | None


class _Window:
    """Amounts spent over a sliding time window (rows per hour, bytes per day)."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._spent: deque[tuple[float, int]] = deque()
        self._total = 0

    def used(self, now: float) -> int:
        while self._spent and self._spent[0][0] <= now - self.span_s:
            self._total -= self._spent.popleft()[1]
        return self._total

    def spend(self, now: float, amount: int) -> None:
        if amount:
            self._spent.append((now, amount))
            self._total += amount


class RowSampler:
    """Chooses rows on the inference path; ``take`` closes the interval (collector thread)."""

    def __init__(
        self,
        config: SamplingConfig,
        features: Sequence[str],
        categorical: Sequence[str],
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        numeric, cats = config.selected(features, categorical)
        self._index = [(name, features.index(name), config.digits_for(name)) for name in numeric]
        self._cats = cats
        self._n_features = len(features)
        self._include_prediction = config.include_prediction
        self._interval_s = interval_s
        self._clock = clock
        self._rng = rng or random.Random()
        self.budget = Budget(True, config.rows_per_hour, config.bytes_per_day)
        self._rows = _Window(HOUR_S)
        self._bytes = _Window(DAY_S)
        # Rows the budget allows now; starts at one interval's share, so the first export has rows.
        self._allowance = max(1.0, config.rows_per_hour * interval_s / HOUR_S)
        self._last = clock()
        # The lock guards the reservoir, the row counter and the next chosen index.
        self._lock = threading.Lock()
        self._items: list[SampledRow] = []
        self._seen = 0
        self._next: float = _NEVER
        self._w = 1.0
        self._k = 0
        self.dropped_budget = 0
        self.dropped_invalid = 0
        self._open(self._capacity(clock()))

    # ---- hot path -------------------------------------------------------------------------

    def offer(self, row: Any, label: Any, score: Any) -> None:
        """Count the call's rows; copy the ones the reservoir chooses."""
        if not self._k:
            return
        t = type(row)
        batch = False
        n = 1
        if t is np.ndarray and row.ndim != 1:
            if row.ndim == 2 and row.shape[1] == self._n_features:
                batch, n = True, row.shape[0]
            else:  # one value per feature in another shape (an 8×8 image): one row
                row = row.reshape(-1)
        elif (t is list or t is tuple) and row and type(row[0]) in _ROW_TYPES:
            batch, n = True, len(row)
        with self._lock:
            start = self._seen
            self._seen = start + n
            if self._next >= start + n:
                return
            while self._next < start + n:
                index = int(self._next)
                j = index - start
                if batch:
                    picked = self._copy(row[j], _nth(label, j, n), _nth(score, j, n))
                else:
                    picked = self._copy(row, label, score)
                if picked is None:
                    self.dropped_invalid += 1
                elif len(self._items) < self._k:
                    self._items.append(picked)
                else:
                    self._items[self._rng.randrange(self._k)] = picked
                self._advance(index)

    def _advance(self, index: int) -> None:
        """Index of the next row to choose after choosing ``index`` (Algorithm L)."""
        if index + 1 < self._k:
            self._next = index + 1
            return
        self._w *= math.exp(math.log(1.0 - self._rng.random()) / self._k)
        w = min(self._w, 1.0 - 1e-12)
        skip = math.floor(math.log(1.0 - self._rng.random()) / math.log1p(-w)) if w > 0 else 0
        self._next = index + skip + 1

    def _copy(self, row: Any, label: Any, score: Any) -> SampledRow | None:
        values: dict[str, float | str | None] = {}
        try:
            if isinstance(row, Mapping):
                for name, _, digits in self._index:
                    values[name] = _number(row.get(name), digits)
                for name in self._cats:
                    v = row.get(name)
                    values[name] = None if v is None else str(v)
            elif row is not None:
                for name, i, digits in self._index:
                    values[name] = _number(row[i], digits)
        except (TypeError, ValueError, IndexError):
            return None
        prediction = None
        score_f = None
        if self._include_prediction:
            label = _single(label)
            prediction = None if label is None else str(label)
            try:
                score_f = None if score is None else float(_single(score))
            except (TypeError, ValueError):
                score_f = None
            if score_f is not None and not math.isfinite(score_f):
                score_f = None
        return SampledRow(time.time_ns(), values, prediction, score_f)

    # ---- collector thread -----------------------------------------------------------------

    def set_budget(self, budget: Budget) -> None:
        """Use ``budget`` from the next interval on (the server raised or lowered it)."""
        self.budget = budget

    def take(self) -> list[SampledRow]:
        """Close the interval: the rows the budget lets out now, and open the next interval."""
        now = self._clock()
        room = self._room(now)
        with self._lock:  # swap and reopen at once: no row lands in a reservoir being closed
            items = self._items
            self._open(self._capacity(now, spent=min(room, len(items))))
        if len(items) > room:
            self.dropped_budget += len(items) - room
            items = self._rng.sample(items, room) if room else []
        items.sort(key=lambda r: r.time_unix_nano)
        return items

    def bytes_left(self) -> int:
        """Bytes the day's budget still allows."""
        return max(0, self.budget.bytes_per_day - self._bytes.used(self._clock()))

    def spent(self, rows: int, size_bytes: int, dropped: int) -> None:
        """Record what was spooled (and what the byte budget cut) out of the last ``take``."""
        now = self._clock()
        self._rows.spend(now, rows)
        self._bytes.spend(now, size_bytes)
        self._allowance = max(0.0, self._allowance - rows)
        self.dropped_budget += dropped

    def _room(self, now: float) -> int:
        """Rows the budget allows out at ``now``: the interval's share, and the hour's rest."""
        rate = self.budget.rows_per_hour / HOUR_S if self.budget.enabled else 0.0
        elapsed = max(0.0, now - self._last)
        self._last = now
        cap = max(1.0, rate * self._interval_s)
        self._allowance = min(cap, self._allowance + rate * elapsed) if rate else 0.0
        left = max(0, self.budget.rows_per_hour - self._rows.used(now))
        return min(int(self._allowance), left) if self.budget.enabled else 0

    def _capacity(self, now: float, spent: int = 0) -> int:
        """Reservoir size of the next interval: what the budget will allow at its end."""
        if not self.budget.enabled or not self.budget.rows_per_hour:
            return 0
        rate = self.budget.rows_per_hour / HOUR_S
        expected = min(
            max(1.0, rate * self._interval_s), self._allowance - spent + rate * self._interval_s
        )
        left = self.budget.rows_per_hour - self._rows.used(now) - spent
        return max(0, min(MAX_RESERVOIR, left, max(1, int(expected))))

    def _open(self, k: int) -> None:
        """Start an empty reservoir of ``k`` rows (the caller holds the lock)."""
        self._items = []
        self._seen = 0
        self._k = k
        self._w = 1.0
        self._next = 0 if k else _NEVER


def _number(value: Any, digits: int | None) -> float | None:
    if value is None:
        return None
    f = float(value)
    if not math.isfinite(f):
        return None
    return f if digits is None else round(f, digits)


def _single(value: Any) -> Any:
    t = type(value)
    if t is np.ndarray:
        return value.reshape(-1)[0] if value.size == 1 else None
    if (t is list or t is tuple) and len(value) == 1:
        return value[0]
    return value


def _nth(values: Any, j: int, n: int) -> Any:
    """The ``j``-th of a batch's per-row labels or scores (``None`` when not one per row)."""
    if values is None or isinstance(values, str):
        return None
    try:
        return values[j] if len(values) == n else None
    except TypeError:
        return None
