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


_CAP = 2**63 - 1


@st.composite
def near_cap_rows(draw: st.DrawFn) -> list[tuple[int, int, list[int]]]:
    """Rows (scale, positive offset, counts) whose counts lie near 2**63 - 1: each valid alone,
    their sums past what int64 holds."""
    return draw(
        st.lists(
            st.tuples(
                st.integers(-2, 3),
                st.integers(-20, 20),
                st.lists(st.integers(0, _CAP) | st.integers(2**61, _CAP), min_size=0, max_size=4),
            ),
            min_size=1,
            max_size=6,
        )
    )


def _capped_oracle(rows: list[tuple[int, int, list[int]]]) -> tuple[int, dict[int, int]]:
    """Common scale and per-bucket sums in Python integers, held at 2**63 - 1."""
    scale = min(s for s, _, _ in rows)
    sums: dict[int, int] = {}
    for s, offset, counts in rows:
        for j, c in enumerate(counts):
            if c:
                i = (offset + j) >> (s - scale)
                sums[i] = sums.get(i, 0) + c
    return scale, {i: min(c, _CAP) for i, c in sums.items()}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(near_cap_rows(), st.lists(histograms(), min_size=1, max_size=4))
def test_query_merge_holds_sums_at_the_int64_cap_and_leaves_other_groups_alone(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[int, int, list[int]]],
    others: list[ExpHistogram],
) -> None:
    """Group 0 holds one device's rows whose counts add up past int64; group 1 ordinary rows.
    Group 0's buckets, zero count and count are the exact sums held at 2**63 - 1 (no error, no
    wrap-around); group 1 is exactly ``merge_all`` of its rows, as if group 0 were absent."""
    _load(con, [[], others])
    for scale, offset, counts in rows:
        con.execute(
            "INSERT INTO t VALUES (0, ?, ?, ?, ?, 0, []::BIGINT[], ?, 1.0, 0.5, 2.0)",
            [scale, _CAP, offset, counts, _CAP],
        )
    merged = merge_groups(con, _SOURCE, [], ["k"])
    _same(merged[(1,)], merge_all(others))
    got = merged[(0,)]
    scale, sums = _capped_oracle(rows)
    assert (got.scale, got.zero_count, got.count) == (
        scale,
        min(_CAP * len(rows), _CAP),
        min(_CAP * len(rows), _CAP),
    )
    buckets = {got.positive_offset + j: int(c) for j, c in enumerate(got.positive_counts) if c}
    assert buckets == sums
    assert got.negative_counts.size == 0
