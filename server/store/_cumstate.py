"""The writer's per-series cumulative state: turns a group's cumulative rows into deltas.

The last cumulative point of each series lives in ``cumulative_state`` and in memory. The
writer converts a group with ``convert`` (which changes nothing yet), writes the returned
state in the same transaction as the rows (``persist``), and only after the commit moves the
memory copy forward (``advance``): a failed or crashed commit leaves state and rows as they
were, and a resent batch is either dropped by its Idempotency-Key before conversion or finds
its points no newer than the kept ones and adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa

from edgewatch.server.store._batch import Batch, ExpHistogramRows, HistogramRows, NumericRows
from edgewatch.server.store._cumulative import (
    Delta,
    ExpPoint,
    HistPoint,
    P,
    SumPoint,
    dumps,
    exp_delta,
    hist_delta,
    kind_of,
    loads,
    sum_delta,
)

StateKey: TypeAlias = tuple[str, str, str, str]
"""(device_id, metric, attrs, state kind)."""
Kept: TypeAlias = SumPoint | ExpPoint | HistPoint


class CumulativeState:
    """Last cumulative point per series; see the module docstring for the protocol."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        rows = cur.execute(
            "SELECT device_id, metric, attrs, kind, state FROM cumulative_state"
        ).fetchall()
        self._kept: dict[StateKey, Kept] = {
            (r[0], r[1], r[2], r[3]): loads(r[3], r[4]) for r in rows
        }

    def __len__(self) -> int:
        return len(self._kept)

    def convert(self, batches: list[Batch]) -> tuple[list[Batch], dict[StateKey, Kept]]:
        """``batches`` with cumulative rows replaced by their deltas (stale ones dropped), and
        the state each touched series moves to."""
        changed: dict[StateKey, Kept] = {}
        out = []
        for b in batches:
            numeric, exp, hist = b.numeric, b.exp_histograms, b.histograms
            touched = False
            if "cumulative" in numeric.kind:
                numeric, touched = _numeric(numeric, self._kept, changed), True
            if "cumulative" in exp.temporality:
                exp, touched = _exp(exp, self._kept, changed), True
            if "cumulative" in hist.temporality:
                hist, touched = _hist(hist, self._kept, changed), True
            out.append(
                replace(b, numeric=numeric, exp_histograms=exp, histograms=hist) if touched else b
            )
        return out, changed

    @staticmethod
    def persist(cur: duckdb.DuckDBPyConnection, changed: dict[StateKey, Kept]) -> None:
        """Write ``changed`` into ``cumulative_state`` (inside the caller's transaction)."""
        if not changed:
            return
        keys = list(changed)
        data = pa.table(
            {
                "device_id": [k[0] for k in keys],
                "metric": [k[1] for k in keys],
                "attrs": [k[2] for k in keys],
                "kind": [k[3] for k in keys],
                "ts": pa.array([changed[k].ts_us for k in keys], pa.timestamp("us")),
                "state": [dumps(changed[k]) for k in keys],
            }
        )
        cur.register("_cumulative_rows", data)
        try:
            cur.execute("INSERT OR REPLACE INTO cumulative_state SELECT * FROM _cumulative_rows")
        finally:
            cur.unregister("_cumulative_rows")

    def advance(self, changed: dict[StateKey, Kept]) -> None:
        """Adopt ``changed`` once the transaction that persisted it has committed."""
        self._kept.update(changed)


def _lookup(kept: dict[StateKey, Kept], changed: dict[StateKey, Kept], key: StateKey) -> Any:
    return changed[key] if key in changed else kept.get(key)


def _deltas(
    rows: Any,
    temporality: Sequence[str],
    point_of: Callable[[int], P],
    delta_of: Callable[[Any, P], Delta[P]],
    kept: dict[StateKey, Kept],
    changed: dict[StateKey, Kept],
) -> dict[int, P | None]:
    """The delta of each cumulative row ``i`` of ``rows`` (None when stale), by its index;
    ``changed`` takes the state each series moves to."""
    deltas: dict[int, P | None] = {}
    for i, t in enumerate(temporality):
        if t == "cumulative":
            p = point_of(i)
            key = (rows.device_id[i], rows.metric[i], rows.attrs[i], kind_of(p))
            d = delta_of(_lookup(kept, changed, key), p)
            deltas[i] = d.delta
            if d.delta is not None and d.keep is not None:
                changed[key] = d.keep
    return deltas


_KEY = ("device_id", "metric", "attrs")
_EXP_FIELDS = (
    "start_us", "ts_us", "scale", "zero_count", "pos_offset", "pos_counts", "neg_offset",
    "neg_counts", "count", "sum", "min", "max",
)  # fmt: skip
_HIST_FIELDS = ("start_us", "ts_us", "bounds", "counts", "count", "sum", "min", "max")
_LISTS = frozenset({"pos_counts", "neg_counts", "bounds", "counts"})
"""Fields held as tuples in points and as lists in rows."""


def _rebuild(
    rows: Any, out: Any, n: int, deltas: dict[int, Any | None], fields: tuple[str, ...]
) -> None:
    """Fill ``out`` with ``rows``' rows in order: row ``i`` in ``deltas`` becomes that delta
    (or is dropped when it is None), every other row is copied as it is."""
    keep = [i for i in range(n) if i not in deltas or deltas[i] is not None]
    for name in _KEY:
        src = getattr(rows, name)
        getattr(out, name).extend([src[i] for i in keep])
    for name in fields:
        src = getattr(rows, name)
        if name in _LISTS:
            column = [list(getattr(deltas[i], name)) if i in deltas else src[i] for i in keep]
        else:
            column = [getattr(deltas[i], name) if i in deltas else src[i] for i in keep]
        getattr(out, name).extend(column)


def _numeric(
    rows: NumericRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> NumericRows:
    deltas = _deltas(
        rows,
        rows.kind,
        lambda i: SumPoint(rows.start_us[i], rows.ts_us[i], rows.value[i]),
        sum_delta,
        kept,
        changed,
    )
    out = NumericRows()
    _rebuild(rows, out, len(rows.kind), deltas, ("start_us", "ts_us", "value"))
    out.kind.extend(
        [
            "delta" if i in deltas else k
            for i, k in enumerate(rows.kind)
            if deltas.get(i, 0) is not None
        ]
    )
    return out


def _exp(
    rows: ExpHistogramRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> ExpHistogramRows:
    def point(i: int) -> ExpPoint:
        return ExpPoint(
            rows.start_us[i], rows.ts_us[i], rows.scale[i], rows.zero_count[i],
            rows.pos_offset[i], tuple(rows.pos_counts[i]), rows.neg_offset[i],
            tuple(rows.neg_counts[i]), rows.count[i], rows.sum[i], rows.min[i], rows.max[i],
        )  # fmt: skip

    deltas = _deltas(rows, rows.temporality, point, exp_delta, kept, changed)
    out = ExpHistogramRows()
    _rebuild(rows, out, len(rows.temporality), deltas, _EXP_FIELDS)
    out.temporality.extend(["delta"] * len(out.ts_us))
    return out


def _hist(
    rows: HistogramRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> HistogramRows:
    def point(i: int) -> HistPoint:
        return HistPoint(
            rows.start_us[i], rows.ts_us[i], tuple(rows.bounds[i]), tuple(rows.counts[i]),
            rows.count[i], rows.sum[i], rows.min[i], rows.max[i],
        )  # fmt: skip

    deltas = _deltas(rows, rows.temporality, point, hist_delta, kept, changed)
    out = HistogramRows()
    _rebuild(rows, out, len(rows.temporality), deltas, _HIST_FIELDS)
    out.temporality.extend(["delta"] * len(out.ts_us))
    return out
