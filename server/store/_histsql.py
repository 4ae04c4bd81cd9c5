"""SQL that merges exponential histograms inside DuckDB, grouped by any key columns.

Each input histogram is downscaled to its group's coarsest scale (bucket index ``i`` at scale
``s`` becomes ``i >> (s - target)``), bucket counts are summed per index, and the sparse result
is densified back into ``offset`` + ``counts`` lists over an integer grid. Groups are numbered
first so the heavy joins run on integers. Used by the rollups and by every query that returns
a distribution, so the merge rule lives in one place.

Whatever the stored rows hold (older servers stored bucket indexes far beyond any float),
the work per group is bounded: each row's extent is clamped to the floats' range
(``[2**-1076, 2**1025]``) before the target scale is chosen, and every downscaled index is
clamped into ``index_range`` of that scale, so a group's grid never exceeds ``MAX_BUCKETS``
per side (at the coarsest scale every float lies within four buckets).
"""

from __future__ import annotations

from collections.abc import Sequence

HISTOGRAM_COLUMNS = (
    "scale, zero_count, pos_offset, pos_counts, neg_offset, neg_counts, count, sum, min, max"
)


def _side(prefix: str) -> str:
    return f"""
    {prefix}_idx AS (
        SELECT gid, least(greatest(i >> sh, ilo), ihi) AS idx, sum(c)::BIGINT AS c FROM (
            SELECT gid, scale - tscale AS sh, ilo, ihi,
                   unnest(range({prefix}_offset::BIGINT, {prefix}_offset + len({prefix}_counts)))
                       AS i,
                   unnest({prefix}_counts) AS c
            FROM src2
        ) WHERE c > 0 GROUP BY gid, idx
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


MAX_BUCKETS = 160
"""Buckets per side of a merged histogram: inputs at a fine scale whose ranges lie far apart
(a pixel that is 1 in one export and 16 in the next, each alone at scale 20) are merged at
the finest scale whose union fits, as ``detectors``' merge does, not densified over millions
of empty buckets."""
MIN_SCALE = -10
_BELOW_FLOATS, _ABOVE_FLOATS = -1075, 1024
"""log2 bounds of the positive floats, as in ``detectors.index_range``: at scale ``s`` a
float's bucket index lies in ``[floor(-1075 * 2**s) - 1, 1024 * 2**s - 1]``."""


def _fit(lo: str, hi: str) -> str:
    """The finest scale at which the group's union of ``[lo, hi)`` (in log2 units) spans at
    most ``MAX_BUCKETS - 2`` buckets (one spare at each end for rounding); 127 when empty."""
    span = f"nullif(max({hi}) OVER grp - min({lo}) OVER grp, 0)"
    return f"coalesce(floor(log2({MAX_BUCKETS - 2} / {span}))::INTEGER, 127)"


def _log2(index: str) -> str:
    """log2 of bucket ``index``'s lower bound at the row's scale, clamped to the floats' range."""
    return f"greatest({_BELOW_FLOATS - 1}, least({_ABOVE_FLOATS + 1}, ({index}) / pow(2, scale)))"


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
    src1 AS (
        SELECT *,
               CASE WHEN len(pos_counts) > 0 THEN {_log2("pos_offset")} END AS plo,
               CASE WHEN len(pos_counts) > 0
                    THEN {_log2("pos_offset + len(pos_counts)")} END AS phi,
               CASE WHEN len(neg_counts) > 0 THEN {_log2("neg_offset")} END AS nlo,
               CASE WHEN len(neg_counts) > 0
                    THEN {_log2("neg_offset + len(neg_counts)")} END AS nhi
        FROM src
    ),
    src1b AS (
        SELECT *, dense_rank() OVER (ORDER BY {g}) AS gid,
               greatest({MIN_SCALE}, least(
                   min(scale) OVER grp,
                   {_fit("plo", "phi")},
                   {_fit("nlo", "nhi")}
               )) AS tscale
        FROM src1 WINDOW grp AS (PARTITION BY {g})
    ),
    src2 AS (
        SELECT *,
               floor({_BELOW_FLOATS} * pow(2, tscale))::BIGINT - 1 AS ilo,
               ({_ABOVE_FLOATS} * pow(2, tscale))::BIGINT - 1 AS ihi
        FROM src1b
    ),
    stats AS (
        SELECT gid, {g}, min(tscale) AS scale, sum(zero_count)::BIGINT AS zero_count,
               sum(count)::BIGINT AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max
        FROM src2 GROUP BY gid, {g}
    ),{_side("pos")},{_side("neg")}
    SELECT {", ".join(f"st.{c}" for c in group_columns)}, st.scale, st.zero_count,
           coalesce(p.off, 0)::INTEGER AS pos_offset,
           coalesce(p.counts, []::BIGINT[]) AS pos_counts,
           coalesce(n.off, 0)::INTEGER AS neg_offset,
           coalesce(n.counts, []::BIGINT[]) AS neg_counts,
           st.count, st.sum, st.min, st.max
    FROM stats st
    LEFT JOIN pos_dense p ON st.gid = p.gid
    LEFT JOIN neg_dense n ON st.gid = n.gid
    """
