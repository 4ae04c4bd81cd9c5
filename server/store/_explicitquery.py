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
        f"SELECT {g}, sum(count)::BIGINT, sum(sum), min(min), max(max)"
        f" FROM ({source_sql}) GROUP BY ALL",
        params,
    ).fetchall()
    rows = cur.execute(
        f"SELECT {g}, bounds, list(c ORDER BY i) FROM ("
        f" SELECT {g}, bounds, i, sum(c)::BIGINT AS c FROM ("
        f"  SELECT {g}, bounds, unnest(range(len(counts))) AS i, unnest(counts) AS c"
        f"  FROM ({source_sql})) GROUP BY ALL) GROUP BY ALL",
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
            float(total or 0.0),
            math.nan if lo is None else float(lo),
            math.nan if hi is None else float(hi),
        )
    return out
