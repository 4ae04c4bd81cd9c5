"""Merged histograms for queries: the source's rows are read as Arrow columns (bucket counts
stay one flat int64 array per side) and each group's rows are merged by the library's
``merge_arrays`` — the one merge rule — with ``stored=True``.

No bucket is unnested in SQL: DuckDB unnesting millions of per-device bucket counts into
(index, count) rows, summing them and handing them to Python was nearly all of a fleet-drift
query's time (``bench/drift.py``). Reading the list columns as Arrow is a copy of their
values; the merge is ``np.add.at`` over them.

Rows stored by older servers may hold bucket indexes far beyond any float (the issue #12
rows: one bucket at +2**31 and one at -2**31) or counts whose sum passes 2**63 - 1:
``stored=True`` clamps indexes into ``index_range`` before any dense array is built and holds
sums at the cap, so one device's rows never fail or blow up a query over every device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from edgewatch.detectors import ExpHistogram, merge_arrays

_READ = "scale, zero_count, pos_offset, pos_counts, neg_offset, neg_counts, count, sum, min, max"


def merge_groups(
    cur: Any, source_sql: str, params: list[object], group_columns: Sequence[str]
) -> dict[tuple[Any, ...], ExpHistogram]:
    """One merged histogram per group of ``source_sql`` (which yields groups + HISTOGRAM_COLUMNS)."""
    g = ", ".join(group_columns)
    k = len(group_columns)
    if not k:
        raise ValueError("at least one group column is required")
    # Within a group, rows in order of their float sum: the merged sum is added left to right,
    # so this makes it independent of the order a scan yields rows in (bit for bit, whichever
    # query reads the group).
    table = cur.execute(
        f"SELECT {g}, {_READ} FROM ({source_sql}) ORDER BY {g}, sum", params
    ).to_arrow_table()
    if table.num_rows == 0:
        return {}
    bounds = _group_bounds([table.column(i) for i in range(k)])
    starts = pa.array(bounds[:-1])
    keys = zip(*(table.column(i).take(starts).to_pylist() for i in range(k)), strict=True)
    columns = {name: table.column(name).to_numpy() for name in _NUMERIC}  # NULL min/max: NaN
    pos_flat, pos_bounds = _flat(table.column("pos_counts"))
    neg_flat, neg_bounds = _flat(table.column("neg_counts"))
    merged: dict[tuple[Any, ...], ExpHistogram] = {}
    for key, start, stop in zip(keys, bounds[:-1], bounds[1:], strict=True):
        part = {name: column[start:stop] for name, column in columns.items()}
        merged[key] = merge_arrays(
            part["scale"],
            part["zero_count"],
            part["pos_offset"],
            pos_flat[pos_bounds[start] : pos_bounds[stop]],
            part["neg_offset"],
            neg_flat[neg_bounds[start] : neg_bounds[stop]],
            part["count"],
            part["sum"],
            part["min"],
            part["max"],
            positive_lengths=np.diff(pos_bounds[start : stop + 1]),
            negative_lengths=np.diff(neg_bounds[start : stop + 1]),
            stored=True,
        )
    return merged


_NUMERIC = ("scale", "zero_count", "pos_offset", "neg_offset", "count", "sum", "min", "max")


def _group_bounds(columns: list[pa.ChunkedArray]) -> list[int]:
    """Where each group of rows sorted by ``columns`` starts, and where the last one ends: the
    rows at which any group column changes (NULL differs from every value, equals NULL)."""
    n = len(columns[0])
    changed = np.zeros(max(n - 1, 0), dtype=bool)
    for column in columns:
        values = column.combine_chunks()
        after, before = values.slice(1), values.slice(0, n - 1)
        differs = pc.fill_null(pc.not_equal(after, before), False)
        null_differs = pc.xor(pc.is_null(after), pc.is_null(before))
        changed |= pc.or_(differs, null_differs).to_numpy(zero_copy_only=False)
    return [0, *(np.flatnonzero(changed) + 1).tolist(), n]


def _flat(column: pa.ChunkedArray) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A list column's values end to end as int64, and where each row starts (and the last
    ends) in them."""
    lists = column.combine_chunks()
    offsets = lists.offsets.to_numpy().astype(np.int64)
    values = lists.values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return values[offsets[0] : offsets[-1]], offsets - offsets[0]
