"""One histogram merge rule: the rollups' SQL merge (``_histsql``) and the queries' SQL + numpy
merge (``_histquery``) give the library's ``merge_all`` on the same stored rows, bucket for
bucket, across groups, scales, signs, zeros and empty sides."""

from __future__ import annotations

import math
from collections.abc import Iterator

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgewatch.detectors import ExpHistogram, from_values, merge_all
from edgewatch.server.store._histquery import merge_groups
from edgewatch.server.store._histsql import merged_histograms_sql

_COLUMNS = (
    "k INTEGER, scale INTEGER, zero_count BIGINT, pos_offset INTEGER, pos_counts BIGINT[],"
    " neg_offset INTEGER, neg_counts BIGINT[], count BIGINT, sum DOUBLE, min DOUBLE, max DOUBLE"
)
_SOURCE = "SELECT * FROM t"

values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    st.sampled_from([0.0, 1.0, -1.0, 16.0, 1e-3, 2.0**-20]),
)


@st.composite
def histograms(draw: st.DrawFn) -> ExpHistogram:
    """A valid histogram as a device sends it: any block of values at a chosen bucket budget,
    sometimes with empty buckets at either end of a side (OTLP allows them)."""
    block = draw(st.lists(values, min_size=0, max_size=30))
    h = from_values(block, max_buckets=draw(st.sampled_from([4, 20, 160])))
    pad_lo, pad_hi = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    if h.positive_counts.size and (pad_lo or pad_hi):
        counts = np.concatenate(
            [np.zeros(pad_lo, np.int64), h.positive_counts, np.zeros(pad_hi, np.int64)]
        )
        h = ExpHistogram(
            h.scale,
            h.zero_count,
            h.positive_offset - pad_lo,
            counts,
            h.negative_offset,
            h.negative_counts,
            h.count,
            h.sum,
            h.min,
            h.max,
        )
    return h


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute(f"CREATE TABLE t ({_COLUMNS})")
    yield c
    c.close()


def _load(con: duckdb.DuckDBPyConnection, groups: list[list[ExpHistogram]]) -> None:
    con.execute("DELETE FROM t")
    rows = [
        [
            k,
            h.scale,
            h.zero_count,
            h.positive_offset,
            h.positive_counts.tolist(),
            h.negative_offset,
            h.negative_counts.tolist(),
            h.count,
            h.sum,
            None if math.isnan(h.min) else h.min,  # the store keeps an absent min/max as NULL
            None if math.isnan(h.max) else h.max,
        ]
        for k, group in enumerate(groups)
        for h in group
    ]
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _rollup(con: duckdb.DuckDBPyConnection) -> dict[int, ExpHistogram]:
    rows = con.execute(merged_histograms_sql(_SOURCE, ["k"])).fetchall()
    return {
        r[0]: ExpHistogram(
            r[1],
            r[2],
            r[3],
            np.asarray(r[4], np.int64),
            r[5],
            np.asarray(r[6], np.int64),
            r[7],
            r[8],
            math.nan if r[9] is None else r[9],
            math.nan if r[10] is None else r[10],
        )
        for r in rows
    }


def _same(got: ExpHistogram, want: ExpHistogram) -> None:
    """Equal buckets, counts and extremes; the sum up to the order floats were added in."""
    assert (got.scale, got.zero_count, got.count) == (want.scale, want.zero_count, want.count)
    for side in ("positive", "negative"):
        g = np.trim_zeros(getattr(got, f"{side}_counts"), "b")
        w = np.trim_zeros(getattr(want, f"{side}_counts"), "b")
        if w.size:
            assert getattr(got, f"{side}_offset") == getattr(want, f"{side}_offset")
        assert g.tolist() == w.tolist()
    assert math.isclose(got.sum, want.sum, rel_tol=1e-9, abs_tol=1e-6)
    for a, b in ((got.min, want.min), (got.max, want.max)):
        assert (math.isnan(a) and math.isnan(b)) or a == b


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(histograms(), min_size=1, max_size=5), min_size=1, max_size=3))
def test_the_sql_and_query_merges_are_the_library_merge(
    con: duckdb.DuckDBPyConnection, groups: list[list[ExpHistogram]]
) -> None:
    _load(con, groups)
    rolled = _rollup(con)
    queried = {k: h for (k,), h in merge_groups(con, _SOURCE, [], ["k"]).items()}
    for k, group in enumerate(groups):
        want = merge_all(group)
        _same(rolled[k], want)
        _same(queried[k], want)
