"""SQL over explicit-bucket histograms: merged per group and bound set, in two small queries.

Explicit histograms have no rollups (the OTel SDKs' default bounds are few and their series
are few), so these read the raw ``histograms`` table; the source is any SELECT yielding the
group columns and ``EXPLICIT_COLUMNS``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from edgewatch.server.store._explicit import ExplicitHistogram
from edgewatch.server.store._histsql import KNOWN_SUM
from edgewatch.server.store._select import WindowQuery, window_select

EXPLICIT_COLUMNS = "bounds, counts, count, sum, min, max"


def explicit_source(
    window: WindowQuery, columns: str, column_params: Sequence[object] = ()
) -> tuple[str, list[object]]:
    """SELECT of ``columns`` over one metric's explicit histograms in a window and selection."""
    return window_select(
        "histograms", "ts", window, columns, column_params, " AND temporality = 'delta'"
    )


def merge_explicit(
    cur: Any, source_sql: str, params: list[object], group_columns: Sequence[str]
) -> dict[tuple[Any, ...], ExplicitHistogram]:
    """One ``ExplicitHistogram`` per group of ``source_sql`` (groups + ``EXPLICIT_COLUMNS``)."""
    g = ", ".join(group_columns)
    k = len(group_columns)
    stats = cur.execute(
        f"SELECT {g}, sum(count)::BIGINT, {KNOWN_SUM}, min(min), max(max)"
        f" FROM ({source_sql}) GROUP BY ALL",
        params,
    ).fetchall()
    # Buckets are summed per bound-set number, not per bound list: grouping each bucket by
    # its list kept a copy of the list per bucket, so one point with 100,000 bounds needed
    # 80 GB. Each distinct list is held once, in ``sets``.
    rows = cur.execute(
        f"WITH src AS MATERIALIZED ({source_sql}),"
        " sets AS (SELECT bounds, row_number() OVER () AS set_id"
        "  FROM (SELECT DISTINCT bounds FROM src)),"
        f" cells AS (SELECT {g}, set_id, i, sum(c)::BIGINT AS c FROM ("
        f"  SELECT {', '.join(f'src.{c}' for c in group_columns)}, sets.set_id,"
        "   unnest(range(len(src.counts))) AS i, unnest(src.counts) AS c"
        "  FROM src JOIN sets ON src.bounds = sets.bounds) GROUP BY ALL),"
        f" lists AS (SELECT {g}, set_id, list(c ORDER BY i) AS counts FROM cells GROUP BY ALL)"
        f" SELECT {', '.join(f'lists.{c}' for c in group_columns)}, sets.bounds, lists.counts"
        " FROM lists JOIN sets USING (set_id)",
        params,
    ).fetchall()
    parts: dict[tuple[Any, ...], list[tuple[tuple[float, ...], tuple[int, ...]]]] = {}
    for row in rows:
        parts.setdefault(tuple(row[:k]), []).append((tuple(row[k]), tuple(row[k + 1])))
    out = {}
    for row in stats:
        key = tuple(row[:k])
        count, total, lo, hi = row[k : k + 4]
        if not count:
            continue
        out[key] = ExplicitHistogram(
            tuple(sorted(parts.get(key, []))),
            int(count),
            math.nan if total is None else float(total),
            math.nan if lo is None else float(lo),
            math.nan if hi is None else float(hi),
        )
    return out
