"""The writer's per-series cumulative state: turns a group's cumulative rows into deltas.

The last cumulative point of each series lives in ``cumulative_state`` and in memory. The
writer converts a group with ``convert`` (which changes nothing yet), writes the returned
state in the same transaction as the rows (``persist``), and only after the commit moves the
memory copy forward (``advance``): a failed or crashed commit leaves state and rows as they
were, and a resent batch is either dropped by its Idempotency-Key before conversion or finds
its points no newer than the kept ones and adds nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa

from edgewatch.server.store._batch import Batch, ExpHistogramRows, HistogramRows, NumericRows
from edgewatch.server.store._cumulative import (
    ExpPoint,
    HistPoint,
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


def _numeric(
    rows: NumericRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> NumericRows:
    out = NumericRows()
    for i, kind in enumerate(rows.kind):
        start, ts, value = rows.start_us[i], rows.ts_us[i], rows.value[i]
        if kind == "cumulative":
            key = (rows.device_id[i], rows.metric[i], rows.attrs[i], "sum")
            d = sum_delta(_lookup(kept, changed, key), SumPoint(start, ts, value))
            if d.delta is None or d.keep is None:
                continue
            changed[key] = d.keep
            kind, start, value = "delta", d.delta.start_us, d.delta.value
        out.device_id.append(rows.device_id[i])
        out.metric.append(rows.metric[i])
        out.attrs.append(rows.attrs[i])
        out.kind.append(kind)
        out.start_us.append(start)
        out.ts_us.append(ts)
        out.value.append(value)
    return out


def _exp(
    rows: ExpHistogramRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> ExpHistogramRows:
    out = ExpHistogramRows()
    for i, temporality in enumerate(rows.temporality):
        p = ExpPoint(
            rows.start_us[i], rows.ts_us[i], rows.scale[i], rows.zero_count[i],
            rows.pos_offset[i], tuple(rows.pos_counts[i]), rows.neg_offset[i],
            tuple(rows.neg_counts[i]), rows.count[i], rows.sum[i], rows.min[i], rows.max[i],
        )  # fmt: skip
        if temporality == "cumulative":
            key = (rows.device_id[i], rows.metric[i], rows.attrs[i], kind_of(p))
            d = exp_delta(_lookup(kept, changed, key), p)
            if d.delta is None or d.keep is None:
                continue
            changed[key] = d.keep
            p = d.delta
        out.device_id.append(rows.device_id[i])
        out.metric.append(rows.metric[i])
        out.attrs.append(rows.attrs[i])
        out.start_us.append(p.start_us)
        out.ts_us.append(p.ts_us)
        out.temporality.append("delta")
        out.scale.append(p.scale)
        out.zero_count.append(p.zero_count)
        out.pos_offset.append(p.pos_offset)
        out.pos_counts.append(list(p.pos_counts))
        out.neg_offset.append(p.neg_offset)
        out.neg_counts.append(list(p.neg_counts))
        out.count.append(p.count)
        out.sum.append(p.sum)
        out.min.append(p.min)
        out.max.append(p.max)
    return out


def _hist(
    rows: HistogramRows, kept: dict[StateKey, Kept], changed: dict[StateKey, Kept]
) -> HistogramRows:
    out = HistogramRows()
    for i, temporality in enumerate(rows.temporality):
        p = HistPoint(
            rows.start_us[i], rows.ts_us[i], tuple(rows.bounds[i]), tuple(rows.counts[i]),
            rows.count[i], rows.sum[i], rows.min[i], rows.max[i],
        )  # fmt: skip
        if temporality == "cumulative":
            key = (rows.device_id[i], rows.metric[i], rows.attrs[i], kind_of(p))
            d = hist_delta(_lookup(kept, changed, key), p)
            if d.delta is None or d.keep is None:
                continue
            changed[key] = d.keep
            p = d.delta
        out.device_id.append(rows.device_id[i])
        out.metric.append(rows.metric[i])
        out.attrs.append(rows.attrs[i])
        out.start_us.append(p.start_us)
        out.ts_us.append(p.ts_us)
        out.temporality.append("delta")
        out.bounds.append(list(p.bounds))
        out.counts.append(list(p.counts))
        out.count.append(p.count)
        out.sum.append(p.sum)
        out.min.append(p.min)
        out.max.append(p.max)
    return out
