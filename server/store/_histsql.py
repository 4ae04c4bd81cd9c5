"""SQL that merges exponential histograms inside DuckDB, grouped by any key columns, by the
library's merge rule (``edgewatch.detectors.merge_all``): the rollups write what a fold of
``merge`` over the same rows gives, bucket for bucket (``tests/server/test_store_merge_rule.py``
checks it, with the query path of ``_histquery``, against the library on generated rows).

The rule: every row's non-empty buckets move to the group's finest common scale ``m`` (the
coarsest input scale, at most ``MAX_SCALE``; index ``i`` at scale ``s`` becomes
``i >> (s - m)``); the smallest further shift ``k`` (at most down to ``MIN_SCALE``) after which
each side spans at most ``MAX_BUCKETS`` buckets is found from the extents alone; counts are
summed per index at scale ``m - k`` and densified into ``offset`` + ``counts`` lists. Groups
are numbered first so the heavy joins run on integers.

Whatever the stored rows hold (older servers stored bucket indexes far beyond any float), the
work per group is bounded: the shift is chosen from extents before anything dense is built,
and every index is clamped into ``index_range`` of the result's scale, so a group's grid never
exceeds ``MAX_BUCKETS`` per side.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgewatch.detectors import DEFAULT_MAX_BUCKETS, MAX_SCALE, MIN_SCALE

HISTOGRAM_COLUMNS = (
    "scale, zero_count, pos_offset, pos_counts, neg_offset, neg_counts, count, sum, min, max"
)
KNOWN_SUM = "CASE WHEN count(sum) = count(*) THEN sum(sum) END"
"""The sum of a group of histogram rows, NULL (unknown) when any row lacks its sum (optional in
OTLP): SQL's sum() skips NULLs and would present the known part as the whole."""


def _buckets(prefix: str) -> str:
    """One side's non-empty buckets at the group's common scale, and their extent."""
    return f"""
    {prefix}_raw AS MATERIALIZED (
        SELECT gid, mscale, i >> greatest(scale - mscale, 0) AS idx, c FROM (
            SELECT gid, scale, mscale,
                   unnest(range({prefix}_offset::BIGINT, {prefix}_offset + len({prefix}_counts)))
                       AS i,
                   unnest({prefix}_counts) AS c
            FROM src1
        ) WHERE c > 0
    ),
    {prefix}_ext AS (
        SELECT gid, min(idx) AS lo, max(idx) AS hi FROM {prefix}_raw GROUP BY gid
    )"""


def _dense(prefix: str) -> str:
    """One side's counts summed at the result's scale, densified into a list."""
    return f"""
    {prefix}_idx AS (
        SELECT r.gid, least(greatest(r.idx >> (r.mscale - f.tscale), f.ilo), f.ihi) AS idx,
               sum(r.c)::BIGINT AS c
        FROM {prefix}_raw r JOIN fit f ON r.gid = f.gid GROUP BY ALL
    ),
    {prefix}_grid AS (
        SELECT gid, lo, unnest(range(lo, hi + 1)) AS idx
        FROM (SELECT gid, min(idx) AS lo, max(idx) AS hi FROM {prefix}_idx GROUP BY gid)
    ),
    {prefix}_dense AS (
        SELECT g.gid, min(g.lo) AS off,
               list_transform(list_sort(list({{'i': g.idx, 'c': coalesce(s.c, 0)}})), x -> x.c)
                   AS counts
        FROM {prefix}_grid g LEFT JOIN {prefix}_idx s ON g.gid = s.gid AND g.idx = s.idx
        GROUP BY g.gid
    )"""


MAX_BUCKETS = DEFAULT_MAX_BUCKETS
"""Buckets per side of a merged histogram, as ``detectors``' merge: inputs at a fine scale
whose ranges lie far apart (a pixel that is 1 in one export and 16 in the next, each alone at
scale 20) are merged at the finest scale whose union fits, not densified over millions of
empty buckets."""
_BELOW_FLOATS, _ABOVE_FLOATS = -1075, 1024
"""log2 bounds of the positive floats, as in ``detectors.index_range``: at scale ``s`` a
float's bucket index lies in ``[floor(-1075 * 2**s) - 1, 1024 * 2**s - 1]``."""
_MAX_SHIFT = MAX_SCALE - MIN_SCALE


def _fits(side: str) -> str:
    """Whether one side's extent at the group's common scale fits after shift ``r.k``."""
    return f"({side}.lo IS NULL OR ({side}.hi >> r.k) - ({side}.lo >> r.k) + 1 <= {MAX_BUCKETS})"


def merged_histograms_sql(source_sql: str, group_columns: Sequence[str]) -> str:
    """SELECT yielding ``group_columns`` + ``HISTOGRAM_COLUMNS``, one row per group.

    ``source_sql`` must yield the group columns (never NULL) and ``HISTOGRAM_COLUMNS``; it may
    carry ``?`` parameters, which keep their order because the source appears once.
    """
    g = ", ".join(group_columns)
    if not g:
        raise ValueError("at least one group column is required")
    return f"""
    WITH src AS ({source_sql}),
    src1 AS MATERIALIZED (
        SELECT *, dense_rank() OVER (ORDER BY {g}) AS gid,
               greatest({MIN_SCALE}, least({MAX_SCALE}, min(scale) OVER (PARTITION BY {g})))
                   AS mscale
        FROM src
    ),
    stats AS (
        SELECT gid, {g}, min(mscale) AS mscale, sum(zero_count)::BIGINT AS zero_count,
               sum(count)::BIGINT AS count, {KNOWN_SUM} AS sum, min(min) AS min, max(max) AS max
        FROM src1 GROUP BY gid, {g}
    ),{_buckets("pos")},{_buckets("neg")},
    shift AS (
        SELECT st.gid, min(r.k) AS k
        FROM stats st LEFT JOIN pos_ext p ON st.gid = p.gid LEFT JOIN neg_ext n ON st.gid = n.gid,
             range(0, {_MAX_SHIFT + 1}) r(k)
        WHERE r.k = st.mscale - {MIN_SCALE} OR (r.k < st.mscale - {MIN_SCALE} AND {_fits("p")}
                                              AND {_fits("n")})
        GROUP BY st.gid
    ),
    fit AS (
        SELECT st.gid, st.mscale - s.k AS tscale,
               floor({_BELOW_FLOATS} * pow(2, st.mscale - s.k))::BIGINT - 1 AS ilo,
               ({_ABOVE_FLOATS} * pow(2, st.mscale - s.k))::BIGINT - 1 AS ihi
        FROM stats st JOIN shift s ON st.gid = s.gid
    ),{_dense("pos")},{_dense("neg")}
    SELECT {", ".join(f"st.{c}" for c in group_columns)}, f.tscale AS scale, st.zero_count,
           coalesce(p.off, 0)::INTEGER AS pos_offset,
           coalesce(p.counts, []::BIGINT[]) AS pos_counts,
           coalesce(n.off, 0)::INTEGER AS neg_offset,
           coalesce(n.counts, []::BIGINT[]) AS neg_counts,
           st.count, st.sum, st.min, st.max
    FROM stats st
    JOIN fit f ON st.gid = f.gid
    LEFT JOIN pos_dense p ON st.gid = p.gid
    LEFT JOIN neg_dense n ON st.gid = n.gid
    """
