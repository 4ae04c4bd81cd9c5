"""The hot path: copy each observation into a preallocated block under one short lock, and
aggregate full blocks vectorised (numpy) into the interval's exponential histograms and counts.

Per inference the caller pays for a type check, a length check, one lock and a row copy; the
histogram work happens once per block of ``block_rows`` rows, on the collector's thread (or
inline in the caller when the collector thread falls behind, so memory stays bounded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgewatch.collector import semconv
from edgewatch.collector._labels import NO_CLASS, PendingTable
from edgewatch.detectors import ExpHistogram, empty, from_values, merge

NAN = float("nan")
NO_ID = -1
"""What ``record`` returns for an inference it dropped (it cannot be labelled)."""
Ids = int | tuple[int, ...]
"""One inference's id, or one per row of a batch."""
_MISSING_CATEGORY = -1
BLOCK_BYTES = 1 << 20
"""Target size of one block of feature values: 4096 rows of 32 features. Bigger blocks make
the per-block histogram merges cheaper per row; the cap keeps memory flat for wide inputs."""
MIN_BLOCK_ROWS, MAX_BLOCK_ROWS = 256, 4096
MAX_PENDING_BLOCKS = 4
"""Full blocks waiting for the collector thread before the inference thread aggregates inline."""


@dataclass(frozen=True, slots=True)
class InferenceSnapshot:
    """Everything the inference path measured over one interval."""

    ok: int
    errors: int
    latency: ExpHistogram
    score: ExpHistogram
    features: tuple[ExpHistogram, ...]
    missing: tuple[int, ...]
    classes: Mapping[str, int]
    categories: Mapping[tuple[str, str], int]
    dropped: Mapping[str, int]
    end_id: int = 0
    """Inferences of this interval have ids below this (and at or above the previous one's)."""

    @property
    def inferences(self) -> int:
        return self.ok + self.errors


class _Block:
    """One preallocated block of rows; the per-row scalars live in plain lists (cheap to set)."""

    __slots__ = ("cats", "cls", "error", "has_row", "latency", "score", "values")

    def __init__(self, rows: int, n_num: int, n_cat: int) -> None:
        self.values = np.empty((rows, n_num), dtype=np.float64)
        self.has_row = [False] * rows
        self.latency = [NAN] * rows
        self.error = [False] * rows
        self.cls = [NO_CLASS] * rows
        self.score = [NAN] * rows
        self.cats: list[Sequence[int] | None] = [None] * rows


class _Totals:
    """The running aggregates of one interval (touched only under the aggregation lock)."""

    def __init__(self, n_num: int, n_cat_sizes: Sequence[int], n_classes: int) -> None:
        self.ok = 0
        self.errors = 0
        self.latency = empty()
        self.score = empty()
        self.features = [empty() for _ in range(n_num)]
        self.missing = np.zeros(n_num, dtype=np.int64)
        self.classes = np.zeros(n_classes + 1, dtype=np.int64)  # last slot: __other__
        self.categories = [np.zeros(k + 2, dtype=np.int64) for k in n_cat_sizes]  # +other +missing


class Recorder:
    """Thread-safe accumulator of observations for one model (see module docstring)."""

    def __init__(
        self,
        features: Sequence[str],
        categorical: Mapping[str, Sequence[str]],
        classes: Sequence[str | int] | None,
        *,
        max_classes: int = 64,
        max_buckets: int = 160,
        block_rows: int | None = None,
        on_block_full: Callable[[], None] | None = None,
        first_id: int = 0,
        pending: PendingTable | None = None,
    ) -> None:
        self.feature_names = tuple(features)
        self.categorical_names = tuple(categorical)
        self._categories = tuple(tuple(str(c) for c in v) for v in categorical.values())
        self._cat_index = [{c: i for i, c in enumerate(v)} for v in self._categories]
        self._learn_classes = classes is None
        self._class_labels: list[str] = [str(c) for c in (classes or ())]
        self._class_index: dict[Any, int] = {c: i for i, c in enumerate(classes or ())}
        self._max_classes = len(self._class_labels) if classes is not None else max_classes
        self._max_buckets = max_buckets
        self._n_num = len(self.feature_names)
        self._n_cat = len(self.categorical_names)
        self._rows = block_rows or block_rows_for(self._n_num)
        self._on_full = on_block_full
        # The hot lock guards the current block, its fill index and the drop counters only.
        self._lock = threading.Lock()
        self._block = self._new_block()
        self._i = 0
        self._full: list[tuple[_Block, int]] = []
        self._free: list[_Block] = []
        self._dropped: dict[str, int] = {}
        # Ids of recorded inferences (for late labels), and the ring of their predictions.
        self._seq = first_id
        self._pending = pending
        self.dropped_total: dict[str, int] = {}
        # The aggregation lock serialises merging blocks into the interval's totals.
        self._agg_lock = threading.Lock()
        self._totals = self._new_totals()
        # Guards learning a new class label (rare; kept apart from the aggregation lock).
        self._class_lock = threading.Lock()

    def _new_block(self) -> _Block:
        return _Block(self._rows, self._n_num, self._n_cat)

    def _new_totals(self) -> _Totals:
        return _Totals(self._n_num, [len(c) for c in self._categories], self._max_classes)

    # ---- hot path -------------------------------------------------------------------------

    def record(
        self, row: Any, latency_s: float, error: bool, label: Any = None, score: Any = None
    ) -> Ids:
        """Record one call: a 1-D row, a 2-D batch (one row per inference), a dict, or None.

        An array holding exactly one value per feature is one row whatever its shape (an 8×8
        image for 64 pixel features). Without any features configured, rows only count.
        Returns the inference's id (a tuple of ids for a batch; ``NO_ID`` when dropped).
        """
        if not self._n_num and not self._n_cat and row is not None:
            row = _without_values(row)
        t = type(row)
        if t is np.ndarray:
            if row.ndim == 1:
                return self._one(row, latency_s, error, label, score)
            if row.ndim == 2 and row.shape[1] == self._n_num:
                return self._array_batch(row, latency_s, error, label, score)
            if row.size == self._n_num and self._n_num:
                return self._one(row.reshape(-1), latency_s, error, label, score)
            self.drop("shape_mismatch", row.shape[0] if row.ndim == 2 else 1)
            return NO_ID
        if t is list or t is tuple:
            if row and type(row[0]) in _ROW_TYPES:
                return self._batch(row, latency_s, error, label, score)
            return self._one(row, latency_s, error, label, score)
        if row is None or isinstance(row, Mapping):
            return self._one(row, latency_s, error, label, score)
        # e.g. a pandas DataFrame or Series: through numpy, then as above
        array = np.asarray(row, dtype=np.float64)
        if array.ndim in (1, 2):
            return self.record(array, latency_s, error, label, score)
        self.drop("shape_mismatch")
        return NO_ID

    def _one(self, row: Any, latency_s: float, error: bool, label: Any, score: Any) -> int:
        cats = None
        if row is not None and isinstance(row, Mapping):
            row, cats = self._from_mapping(row)
        elif row is not None and len(row) != self._n_num:
            self.drop("shape_mismatch")
            return NO_ID
        cls = NO_CLASS if label is None else self._class_of(_single(label))
        score_f = NAN if score is None else _score(_single(score))
        full = None
        with self._lock:
            i = self._i
            b = self._block
            if row is not None:
                try:
                    b.values[i] = row
                except (ValueError, TypeError):
                    self._drop_locked("invalid_value", 1)
                    return NO_ID
                b.has_row[i] = True
            else:
                b.has_row[i] = False
            b.latency[i] = latency_s
            b.error[i] = error
            b.cls[i] = cls
            b.score[i] = score_f
            b.cats[i] = cats
            seq = self._seq
            self._seq = seq + 1
            p = self._pending
            if p is not None:
                p.cls[seq & p.mask] = cls
                p.score[seq & p.mask] = score_f
            i += 1
            if i == self._rows:
                full = self._swap_locked(i)
            else:
                self._i = i
        if full is not None:
            self._after_full()
        return seq

    def _per_row(self, n: int, labels: Any, scores: Any) -> bool:
        """Whether per-row labels and scores (when given) have one entry per row of a batch."""
        if labels is not None and (isinstance(labels, str) or len(labels) != n):
            return False
        return scores is None or len(scores) == n

    def _batch(self, rows: Any, latency_s: float, error: bool, labels: Any, scores: Any) -> Ids:
        """A batched call: every row is one inference; the call's latency is recorded once."""
        n = len(rows)
        if not self._per_row(n, labels, scores):
            self.drop("shape_mismatch", n)
            return ()
        return tuple(
            self._one(
                rows[j],
                latency_s if j == 0 else NAN,
                error,
                None if labels is None else labels[j],
                None if scores is None else scores[j],
            )
            for j in range(n)
        )

    def _array_batch(
        self, rows: np.ndarray, latency_s: float, error: bool, labels: Any, scores: Any
    ) -> Ids:
        """A 2-D array batch, copied into the blocks in slices rather than row by row."""
        n = rows.shape[0]
        if rows.shape[1] != self._n_num or not self._per_row(n, labels, scores):
            self.drop("shape_mismatch", n)
            return ()
        ids: list[int] = []
        cls = [NO_CLASS] * n if labels is None else [self._class_of(x) for x in labels]
        sc = [NAN] * n if scores is None else [_score(x) for x in scores]
        lat = [latency_s] + [NAN] * (n - 1)
        j = 0
        while j < n:
            full = None
            with self._lock:
                i = self._i
                b = self._block
                k = min(n - j, self._rows - i)
                try:
                    b.values[i : i + k] = rows[j : j + k]
                except (ValueError, TypeError):
                    self._drop_locked("invalid_value", n - j)
                    return tuple(ids)
                b.has_row[i : i + k] = [True] * k
                b.latency[i : i + k] = lat[j : j + k]
                b.error[i : i + k] = [error] * k
                b.cls[i : i + k] = cls[j : j + k]
                b.score[i : i + k] = sc[j : j + k]
                b.cats[i : i + k] = [None] * k
                seq = self._seq
                self._seq = seq + k
                if self._pending is not None:
                    self._pending.put(seq, cls[j : j + k], sc[j : j + k])
                if i + k == self._rows:
                    full = self._swap_locked(i + k)
                else:
                    self._i = i + k
            if full is not None:
                self._after_full()
            ids.extend(range(seq, seq + k))
            j += k
        return tuple(ids)

    def _from_mapping(self, row: Mapping[str, Any]) -> tuple[list[Any], list[int] | None]:
        values = [row.get(name, NAN) for name in self.feature_names]
        values = [NAN if v is None else v for v in values]
        if not self._n_cat:
            return values, None
        cats = []
        for name, index in zip(self.categorical_names, self._cat_index, strict=True):
            v = row.get(name)
            cats.append(_MISSING_CATEGORY if v is None else index.get(str(v), len(index)))
        return values, cats

    def _class_of(self, label: Any) -> int:
        try:
            idx = self._class_index.get(label)
        except TypeError:  # unhashable (e.g. a probability vector): not a class label
            self.drop("invalid_prediction")
            return NO_CLASS
        if idx is not None:
            return idx
        if not self._learn_classes:
            return self._max_classes  # __other__
        with self._class_lock:
            idx = self._class_index.get(label)
            if idx is None:
                if len(self._class_labels) >= self._max_classes:
                    return self._max_classes
                idx = len(self._class_labels)
                self._class_labels.append(str(label))
                self._class_index[label] = idx
            return idx

    def drop(self, reason: str, count: int = 1) -> None:
        """Count observations that were not recorded, by reason (exported as ``dropped``)."""
        with self._lock:
            self._drop_locked(reason, count)

    def _drop_locked(self, reason: str, count: int) -> None:
        self._dropped[reason] = self._dropped.get(reason, 0) + count
        self.dropped_total[reason] = self.dropped_total.get(reason, 0) + count

    def _swap_locked(self, filled: int) -> _Block:
        full = self._block
        self._full.append((full, filled))
        self._block = self._free.pop() if self._free else self._new_block()
        self._i = 0
        return full

    def _after_full(self) -> None:
        if len(self._full) > MAX_PENDING_BLOCKS:
            self.aggregate_pending()  # the collector thread is behind: keep memory bounded
        elif self._on_full is not None:
            self._on_full()

    # ---- aggregation (collector thread) ---------------------------------------------------

    def aggregate_pending(self) -> None:
        """Merge every full block into the interval totals."""
        with self._agg_lock:
            while True:
                with self._lock:
                    if not self._full:
                        return
                    block, n = self._full.pop(0)
                self._aggregate(block, n)
                with self._lock:
                    self._free.append(block)

    def _aggregate(self, b: _Block, n: int) -> None:
        t = self._totals
        mb = self._max_buckets
        errors = sum(b.error[:n])
        t.errors += errors
        t.ok += n - errors
        t.latency = merge(t.latency, from_values(b.latency[:n], max_buckets=mb), max_buckets=mb)
        t.score = merge(t.score, from_values(b.score[:n], max_buckets=mb), max_buckets=mb)
        cls = np.fromiter(b.cls[:n], dtype=np.int64, count=n)
        cls = cls[cls >= 0]
        if cls.size:
            t.classes += np.bincount(cls, minlength=t.classes.size)[: t.classes.size]
        if self._n_num:
            has = np.fromiter(b.has_row[:n], dtype=bool, count=n)
            values = b.values[:n][has]
            if values.shape[0]:
                t.missing += (~np.isfinite(values)).sum(axis=0)
                for k in range(self._n_num):
                    h = from_values(values[:, k], max_buckets=mb)
                    t.features[k] = merge(t.features[k], h, max_buckets=mb)
        if self._n_cat:
            cats = [c for c in b.cats[:n] if c is not None]
            if cats:
                matrix = np.asarray(cats, dtype=np.int64)
                for k, counts in enumerate(t.categories):
                    col = matrix[:, k]
                    col = np.where(col == _MISSING_CATEGORY, counts.size - 1, col)
                    counts += np.bincount(col, minlength=counts.size)
        for j in range(n):  # release references the rows held
            b.cats[j] = None

    def take(self) -> InferenceSnapshot:
        """Close the interval: aggregate everything recorded so far and reset the totals."""
        with self._lock:
            if self._i:
                self._swap_locked(self._i)
            dropped, self._dropped = self._dropped, {}
            end_id = self._seq
        self.aggregate_pending()
        with self._agg_lock:
            t, self._totals = self._totals, self._new_totals()
        with self._class_lock:
            labels = [*self._class_labels, semconv.OTHER_CATEGORY]
        classes: dict[str, int] = {}
        for label, count in zip(labels, t.classes.tolist(), strict=False):
            if count:
                classes[label] = classes.get(label, 0) + count
        categories: dict[tuple[str, str], int] = {}
        for name, known, counts in zip(
            self.categorical_names, self._categories, t.categories, strict=True
        ):
            for cat, count in zip(
                [*known, semconv.OTHER_CATEGORY], counts[:-1].tolist(), strict=True
            ):
                if count:
                    categories[(name, cat)] = count
        cat_missing = tuple(int(c[-1]) for c in t.categories)
        return InferenceSnapshot(
            ok=t.ok,
            errors=t.errors,
            latency=t.latency,
            score=t.score,
            features=tuple(t.features),
            missing=tuple(int(m) for m in t.missing) + cat_missing,
            classes=classes,
            categories=categories,
            dropped=dropped,
            end_id=end_id,
        )

    @property
    def next_id(self) -> int:
        """The id the next recorded inference gets."""
        return self._seq

    def class_label(self, index: int) -> str:
        """The wire label of a class index (``__other__`` beyond the learnt or given classes)."""
        labels = self._class_labels
        return labels[index] if 0 <= index < len(labels) else semconv.OTHER_CATEGORY

    def known_classes(self) -> tuple[str, ...]:
        """Class labels seen or given so far."""
        with self._class_lock:
            return tuple(self._class_labels)

    @property
    def fixed_classes(self) -> bool:
        """Whether the classes were given up front (others are ``__other__``)."""
        return not self._learn_classes

    @property
    def max_classes(self) -> int:
        """How many distinct classes are counted before ``__other__``."""
        return self._max_classes

    @property
    def missing_names(self) -> tuple[str, ...]:
        """Feature names in the order of ``InferenceSnapshot.missing``."""
        return self.feature_names + self.categorical_names


def block_rows_for(n_features: int) -> int:
    """Rows per block: about ``BLOCK_BYTES`` of float64 values, within [256, 4096]."""
    rows = BLOCK_BYTES // (8 * max(1, n_features))
    return max(MIN_BLOCK_ROWS, min(MAX_BLOCK_ROWS, rows))


_ROW_TYPES = (list, tuple, dict, np.ndarray)


def _without_values(row: Any) -> Any:
    """What is left of a row when no features are monitored: only how many inferences it holds."""
    if type(row) is np.ndarray and row.ndim == 2:
        return np.empty((row.shape[0], 0))
    if type(row) in (list, tuple) and row and type(row[0]) in _ROW_TYPES:
        return np.empty((len(row), 0))
    return None


def _single(value: Any) -> Any:
    """A one-element array or list (``model.predict`` on one row) as its element."""
    t = type(value)
    if t is np.ndarray:
        return value.reshape(-1)[0] if value.size == 1 else value
    if (t is list or t is tuple) and len(value) == 1:
        return value[0]
    return value


def _score(value: Any) -> float:
    """A score as float; one that is not a number is recorded as no score."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN
