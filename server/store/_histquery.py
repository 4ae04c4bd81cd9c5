"""Merged histograms for queries: DuckDB sums bucket counts, the library's
``from_bucket_sums`` (the last step of ``merge_arrays``) fits and densifies the few results.

The rollups need dense lists written back by SQL (``_histsql``); a query needs only a handful
of merged histograms, so it fetches sparse ``(group, index, count)`` sums and builds the
arrays with the library, which avoids the grid join and is several times faster over 100k+
histograms. Both give ``merge_all`` of the same rows (``tests/server/test_store_merge_rule.py``).

Rows stored by older servers may hold bucket indexes far beyond any float (the issue #12
rows: one bucket at +2**31 and one at -2**31). Indexes are clamped into ``index_range`` and
the scale is lowered until each side spans at most ``DEFAULT_MAX_BUCKETS`` before any dense
array is built, so a merge allocates at most that many buckets per side whatever is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgewatch.detectors import (
    MIN_SCALE,
    BucketSums,
    ExpHistogram,
    from_bucket_sums,
    index_range,
)

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
        merged[key] = from_bucket_sums(
            scale,
            int(zero),
            _clamped(sides.get(1), scale),
            _clamped(sides.get(-1), scale),
            count=int(count),
            sum=float(total),
            min=float("nan") if lo is None else float(lo),
            max=float("nan") if hi is None else float(hi),
        )
    return merged


def _clamped(side: tuple[list[int], list[int]] | None, scale: int) -> BucketSums:
    """(index, count) arrays of one side with every index moved into ``index_range(scale)``."""
    if not side:
        return _EMPTY, _EMPTY
    lowest, highest = index_range(scale)
    index = np.clip(np.asarray(side[0], dtype=np.int64), lowest, highest)
    return index, np.asarray(side[1], dtype=np.int64)
