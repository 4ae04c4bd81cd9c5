"""The rollups' SQL merge of exponential histograms whose ranges lie far apart.

A sparse pixel feature exports blocks that hold one distinct value each: every block is a
single bucket at scale 20, and 1.0 and 16.0 are four million buckets apart there. The merge
must drop to the scale at which the union fits, as ``detectors.merge`` does, rather than
densify millions of empty buckets (which took 14 s for 2,700 demo rows)."""

from __future__ import annotations

import time

import duckdb

from edgewatch.detectors import ExpHistogram, from_values, merge_all
from edgewatch.server.store._histsql import MAX_BUCKETS, merged_histograms_sql

_COLUMNS = (
    "k INTEGER, scale INTEGER, zero_count BIGINT, pos_offset INTEGER, pos_counts BIGINT[],"
    " neg_offset INTEGER, neg_counts BIGINT[], count BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE"
)


def _merge_in_sql(histograms: list[ExpHistogram]) -> tuple[int, int, list[int], int]:
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE t ({_COLUMNS})")
        for h in histograms:
            con.execute(
                "INSERT INTO t VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    h.scale,
                    h.zero_count,
                    h.positive_offset,
                    [int(c) for c in h.positive_counts],
                    h.negative_offset,
                    [int(c) for c in h.negative_counts],
                    h.count,
                    h.sum,
                    h.min,
                    h.max,
                ],
            )
        sql = merged_histograms_sql("SELECT * FROM t", ["k"])
        row = con.execute(f"SELECT scale, pos_offset, pos_counts, count FROM ({sql})").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0]), int(row[1]), [int(c) for c in row[2]], int(row[3])


def test_single_value_blocks_far_apart_merge_within_max_buckets_and_fast() -> None:
    blocks = [from_values([v]) for v in (1.0, 16.0, 3.0, 0.001)]
    assert {h.scale for h in blocks} == {20}
    started = time.perf_counter()
    scale, offset, counts, count = _merge_in_sql(blocks)
    assert time.perf_counter() - started < 2.0
    assert count == 4
    assert sum(counts) == 4
    assert len(counts) <= MAX_BUCKETS
    expected = merge_all(blocks)
    assert (scale, offset, counts) == (
        expected.scale,
        expected.positive_offset,
        [int(c) for c in expected.positive_counts],
    )


def test_close_ranges_merge_as_the_detectors_merge() -> None:
    blocks = [from_values([0.05, 0.0501, 0.0502]), from_values([0.0499, 0.05])]
    scale, offset, counts, count = _merge_in_sql(blocks)
    expected = merge_all(blocks)
    assert scale == expected.scale == min(h.scale for h in blocks)
    assert (offset, counts) == (
        expected.positive_offset,
        [int(c) for c in expected.positive_counts],
    )
    assert count == 5 == sum(counts)
