"""The rollups' SQL merge and the queries' merge over rows stored before ingest checked bucket
ranges (issue #12): indexes far beyond any float are clamped into the floats' range and the
scale is chosen before any grid is built, so the merge stays small and fast."""

from __future__ import annotations

import time

import duckdb
import numpy as np
import pytest

from edgewatch.detectors import MIN_SCALE, ExpHistogram, index_range
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import MAX_BUCKETS, merged_histograms_sql

_COLUMNS = (
    "k INTEGER, scale INTEGER, zero_count BIGINT, pos_offset INTEGER, pos_counts BIGINT[],"
    " neg_offset INTEGER, neg_counts BIGINT[], count BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE"
)
FAR = 2**31 - 2


def _table(rows: list[tuple[int, int, list[int]]]) -> duckdb.DuckDBPyConnection:
    """One group of rows (scale, positive offset, positive counts), as an older server stored them."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({_COLUMNS})")
    for scale, offset, counts in rows:
        con.execute(
            "INSERT INTO t VALUES (1, ?, 0, ?, ?, 0, []::BIGINT[], ?, 1.0, NULL, NULL)",
            [scale, offset, counts, sum(counts)],
        )
    return con


_LEGACY = [
    [(MIN_SCALE, FAR, [1]), (MIN_SCALE, -FAR, [1])],
    [(0, FAR, [1]), (0, -FAR, [1])],
    [(0, 2**26, [1]), (0, -(2**26), [1])],
    [(20, 2**29, [1]), (20, -(2**29), [1]), (3, 7, [2, 0, 5])],
]


@pytest.mark.parametrize("rows", _LEGACY)
def test_rollup_merge_of_far_apart_rows_stays_within_max_buckets(rows) -> None:
    con = _table(rows)
    started = time.perf_counter()
    scale, offset, counts, count = con.execute(
        "SELECT scale, pos_offset, pos_counts, count"
        f" FROM ({merged_histograms_sql('SELECT * FROM t', ['k'])})"
    ).fetchone()
    assert time.perf_counter() - started < 2.0
    assert scale >= MIN_SCALE
    assert len(counts) <= MAX_BUCKETS
    lowest, highest = index_range(scale)
    assert lowest <= offset and offset + len(counts) - 1 <= highest
    assert sum(counts) == count == sum(sum(c) for _, _, c in rows)


@pytest.mark.parametrize("rows", _LEGACY)
def test_query_merge_of_far_apart_rows_stays_within_max_buckets(rows) -> None:
    con = _table(rows)
    started = time.perf_counter()
    merged = merge_groups(con, "SELECT * FROM t", [], ["k"])[(1,)]
    assert time.perf_counter() - started < 2.0
    assert isinstance(merged, ExpHistogram)
    assert merged.positive_counts.size <= MAX_BUCKETS
    lowest, highest = index_range(merged.scale)
    assert lowest <= merged.positive_offset
    assert merged.positive_offset + merged.positive_counts.size - 1 <= highest
    assert int(np.sum(merged.positive_counts)) == merged.count
