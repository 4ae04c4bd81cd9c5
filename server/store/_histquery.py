"""Merged histograms for queries: DuckDB sums bucket counts, numpy densifies the few results.

The rollups need dense lists written back by SQL (``_histsql``); a query needs only a handful
of merged histograms, so it fetches sparse ``(group, index, count)`` sums and builds the
arrays here, which avoids the grid join and is several times faster over 100k+ histograms.

Rows stored by older servers may hold bucket indexes far beyond any float (the issue #12
rows: one bucket at +2**31 and one at -2**31). Indexes are clamped into ``index_range`` and
the scale is lowered until each side spans at most ``DEFAULT_MAX_BUCKETS`` before any dense
array is built, so a merge allocates at most that many buckets per side whatever is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgewatch.detectors import DEFAULT_MAX_BUCKETS, MIN_SCALE, ExpHistogram, index_range

_EMPTY = np.zeros(0, dtype=np.int64)
_INT64_MAX = 2**63 - 1


def _saturated(column: str) -> str:
    """``sum(column)`` as BIGINT, held at 2**63 - 1: counts that add up past it (each point
    is valid on its own) must not fail a query over every device."""
    return f"least(sum({column}), {_INT64_MAX})::BIGINT"


def merge_groups(
    cur: Any, source_sql: str, params: list[object], group_columns: Sequence[str]
) -> dict[tuple[Any, ...], ExpHistogram]:
    """One merged histogram per group of ``source_sql`` (which yields groups + HISTOGRAM_COLUMNS)."""
    g = ", ".join(group_columns)
    k = len(group_columns)
    rows = cur.execute(
        f"""
        WITH src AS ({source_sql}),
        s2 AS (SELECT *, min(scale) OVER (PARTITION BY {g}) AS tscale FROM src)
        SELECT {g}, min(scale), {_saturated("zero_count")}, {_saturated("count")}, sum(sum),
               min(min), max(max), NULL, NULL, NULL FROM s2 GROUP BY {g}
        UNION ALL
        SELECT {g}, NULL, NULL, NULL, NULL, NULL, NULL, side, idx, c FROM (
            SELECT {g}, side, i >> sh AS idx, {_saturated("c")} AS c FROM (
                SELECT {g}, 1 AS side, scale - tscale AS sh,
                       unnest(range(pos_offset::BIGINT, pos_offset + len(pos_counts))) AS i,
                       unnest(pos_counts) AS c FROM s2
                UNION ALL
                SELECT {g}, -1 AS side, scale - tscale AS sh,
                       unnest(range(neg_offset::BIGINT, neg_offset + len(neg_counts))) AS i,
                       unnest(neg_counts) AS c FROM s2
            ) WHERE c > 0 GROUP BY ALL
        )
        """,
        params,
    ).fetchall()
    stats: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    buckets: dict[tuple[Any, ...], dict[int, tuple[list[int], list[int]]]] = {}
    for row in rows:
        key = tuple(row[:k])
        if row[k + 6] is None:
            stats[key] = row[k : k + 6]
        else:
            idx, counts = buckets.setdefault(key, {}).setdefault(row[k + 6], ([], []))
            idx.append(row[k + 7])
            counts.append(row[k + 8])
    merged = {}
    for key, (scale, zero, count, total, lo, hi) in stats.items():
        sides = buckets.get(key, {})
        scale = max(int(scale), MIN_SCALE)
        pos = _clamped(sides.get(1), scale)
        neg = _clamped(sides.get(-1), scale)
        shift = _fitting_shift((pos[0], neg[0]), scale - MIN_SCALE)
        pos_off, pos_counts = _dense(pos, shift)
        neg_off, neg_counts = _dense(neg, shift)
        merged[key] = ExpHistogram(
            scale=scale - shift,
            zero_count=int(zero),
            positive_offset=pos_off,
            positive_counts=pos_counts,
            negative_offset=neg_off,
            negative_counts=neg_counts,
            count=int(count),
            sum=float(total),
            min=float("nan") if lo is None else float(lo),
            max=float("nan") if hi is None else float(hi),
        )
    return merged


_Side = tuple[np.ndarray, np.ndarray]


def _clamped(side: tuple[list[int], list[int]] | None, scale: int) -> _Side:
    """(index, count) arrays of one side with every index moved into ``index_range(scale)``."""
    if not side:
        return _EMPTY, _EMPTY
    lowest, highest = index_range(scale)
    index = np.clip(np.asarray(side[0], dtype=np.int64), lowest, highest)
    return index, np.asarray(side[1], dtype=np.int64)


def _fitting_shift(indexes: tuple[np.ndarray, ...], max_shift: int) -> int:
    """Smallest right shift (at most ``max_shift``) after which each side's indexes span at
    most ``DEFAULT_MAX_BUCKETS``; found from the extremes, before anything dense is built."""
    ranges = [(int(i.min()), int(i.max())) for i in indexes if i.size]
    shift = 0
    while shift < max_shift and any(
        (hi >> shift) - (lo >> shift) + 1 > DEFAULT_MAX_BUCKETS for lo, hi in ranges
    ):
        shift += 1
    return shift


def _dense(side: _Side, shift: int) -> tuple[int, np.ndarray]:
    """Offset and dense counts of one side after ``shift`` (bucket pairs merged per step)."""
    index, counts = side
    if not index.size:
        return 0, _EMPTY
    index = index >> shift
    lo = int(index.min())
    out = np.zeros(int(index.max()) - lo + 1, dtype=np.int64)
    np.add.at(out, index - lo, counts)
    return lo, out
