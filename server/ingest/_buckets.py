"""Bucket ranges of wire exponential histograms: which indexes a float can have, and the
downscaling that bounds how many buckets a stored point spans (issue #12).

Pure functions on plain integers and lists: they run on the ingest hot path, once per point.
"""

from __future__ import annotations

import numpy as np

from edgewatch.detectors import MAX_SCALE, MIN_SCALE, index_range

MAX_HISTOGRAM_BUCKETS = 4096
"""Default bucket span per side of a stored exponential histogram: 16x the OpenTelemetry SDK
default of 160, so finer SDK settings are stored as sent; a wider point is downscaled at
ingest (OTel's rule: the finest scale at which each side fits), which bounds the work each
stored point adds to merges and rollups."""
_INDEX_RANGE = {s: index_range(s) for s in range(MIN_SCALE, MAX_SCALE + 1)}
"""``index_range`` of every valid scale, looked up once per point on the ingest hot path."""


def index_problem(scale: int, side: str, offset: int, size: int) -> str | None:
    """Why a side's buckets ``offset .. offset + size - 1`` cannot exist at ``scale`` (a valid
    one), or None.

    Bucket indexes outside ``index_range(scale)`` hold no float; accepting them would make
    every later merge of the series span billions of empty buckets. The message is
    ``edgewatch.detectors.validate``'s.
    """
    if not size:
        return None
    lowest, highest = _INDEX_RANGE[scale]
    if offset < lowest or offset + size - 1 > highest:
        return (
            f"{side} buckets {offset}..{offset + size - 1} lie beyond the range of a float"
            f" at scale {scale} ({lowest}..{highest})"
        )
    return None


def fitting_shift(
    offsets_sizes: tuple[tuple[int, int], ...], max_buckets: int, max_shift: int
) -> int:
    """Smallest right shift of bucket indexes (at most ``max_shift``) after which every side
    spans at most ``max_buckets``; within ``index_range`` any side fits at ``MIN_SCALE``."""
    shift = 0
    while shift < max_shift and any(
        size and ((offset + size - 1) >> shift) - (offset >> shift) + 1 > max_buckets
        for offset, size in offsets_sizes
    ):
        shift += 1
    return shift


def downscaled(offset: int, counts: list[int], shift: int) -> tuple[int, list[int]]:
    """One side's buckets at ``shift`` scales coarser: each step merges bucket pairs."""
    if not counts or not shift:
        return offset, counts
    index = (offset + np.arange(len(counts), dtype=np.int64)) >> shift
    first = int(index[0])
    out = np.zeros(int(index[-1]) - first + 1, dtype=np.int64)
    np.add.at(out, index - first, np.asarray(counts, dtype=np.int64))
    return first, out.tolist()


def coarsened_explicit(
    bounds: list[float], counts: list[int], max_buckets: int
) -> tuple[list[float], list[int]]:
    """An explicit-bucket point with at most ``max_buckets`` buckets: each run of ``k``
    neighbouring buckets (the fewest that fit) merges into one, keeping the run's upper bound,
    so every value stays in a bucket whose range holds it and the total is unchanged."""
    if len(counts) <= max_buckets:
        return bounds, counts
    k = -(-len(counts) // max_buckets)
    merged = [sum(counts[i : i + k]) for i in range(0, len(counts), k)]
    return bounds[k - 1 :: k][: len(merged) - 1], merged
