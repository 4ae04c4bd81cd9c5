"""Dense counts on a shared grid: how two histograms become comparable arrays.

Both exponential histograms are downscaled to their common (coarser) scale; the union of
their bucket ranges becomes one contiguous grid of cells (negative buckets, the zero point,
positive buckets, with empty gap cells in between), clamped to the joint [min, max]. Within
a cell, mass is taken as uniform — the assumption behind every binning bound in this package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgewatch.detectors._categorical import CategoricalCounts
from edgewatch.detectors._histogram import MIN_SCALE, ExpHistogram, bucket_bounds, downscale

FloatArray = npt.NDArray[np.float64]

DEFAULT_MAX_CELLS = 4096
"""Most buckets per sign on a shared grid; far-apart histograms are downscaled to fit."""


@dataclass(frozen=True, slots=True, eq=False)
class DenseGrid:
    """Counts of two samples on the same cells; ``edges`` has one more entry than each count array."""

    edges: FloatArray
    reference: FloatArray
    current: FloatArray

    @property
    def widths(self) -> FloatArray:
        """Cell widths (0 for the zero point)."""
        return np.diff(self.edges)

    def proportions(self) -> tuple[FloatArray, FloatArray]:
        """Reference and current counts divided by their totals."""
        return self.reference / self.reference.sum(), self.current / self.current.sum()


def _side(h: ExpHistogram, positive: bool) -> tuple[int, npt.NDArray[np.int64]]:
    if positive:
        return h.positive_offset, h.positive_counts
    return h.negative_offset, h.negative_counts


def _dense_side(
    a: ExpHistogram, b: ExpHistogram, positive: bool
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray] | None:
    """Union index range of one side and both histograms' counts on it (index ascending)."""
    spans = []
    for h in (a, b):
        off, counts = _side(h, positive)
        nz = np.flatnonzero(counts)
        if nz.size:
            spans.append((off + int(nz[0]), off + int(nz[-1])))
    if not spans:
        return None
    lo = min(s[0] for s in spans)
    hi = max(s[1] for s in spans)
    out = []
    for h in (a, b):
        dense = np.zeros(hi - lo + 1, dtype=np.float64)
        off, counts = _side(h, positive)
        idx = off + np.arange(counts.size) - lo
        keep = (idx >= 0) & (idx < dense.size)
        dense[idx[keep]] = counts[keep]
        out.append(dense)
    return np.arange(lo, hi + 1, dtype=np.int64), out[0], out[1]


def _union_span(a: ExpHistogram, b: ExpHistogram, scale: int, positive: bool) -> int:
    """Number of buckets the union of one side of both histograms spans at ``scale``."""
    bounds = []
    for h in (a, b):
        off, counts = _side(h, positive)
        nz = np.flatnonzero(counts)
        if nz.size:
            shift = h.scale - scale
            bounds.append(((off + int(nz[0])) >> shift, (off + int(nz[-1])) >> shift))
    if not bounds:
        return 0
    return max(hi for _, hi in bounds) - min(lo for lo, _ in bounds) + 1


def shared_grid(
    reference: ExpHistogram, current: ExpHistogram, *, max_cells: int = DEFAULT_MAX_CELLS
) -> DenseGrid:
    """Both histograms as dense counts on one grid (common scale, union of buckets).

    When the two sit far apart in log space, both are downscaled further until each sign
    spans at most ``max_cells`` buckets; the binning bounds of the statistics grow with it.
    Example: ``g = shared_grid(from_values(a), from_values(b)); g.proportions()``.
    """
    if isinstance(max_cells, bool) or not isinstance(max_cells, int) or max_cells < 4:
        raise ValueError(f"max_cells must be an int >= 4, got {max_cells!r}")
    for name, h in (("reference", reference), ("current", current)):
        if not isinstance(h, ExpHistogram):
            raise ValueError(f"{name} must be an ExpHistogram, got {type(h).__name__}")
        if h.count == 0:
            raise ValueError(f"{name} histogram is empty: a shared grid needs values on both sides")
    scale = min(reference.scale, current.scale)
    while (
        scale > MIN_SCALE
        and max(
            _union_span(reference, current, scale, positive=True),
            _union_span(reference, current, scale, positive=False),
        )
        > max_cells
    ):
        scale -= 1
    a = downscale(reference, reference.scale - scale)
    b = downscale(current, current.scale - scale)
    edges: list[FloatArray] = []
    ref_parts: list[FloatArray] = []
    cur_parts: list[FloatArray] = []
    neg = _dense_side(a, b, positive=False)
    if neg is not None:
        idx, ra, cb = neg
        lo, hi = bucket_bounds(idx[::-1], scale)
        edges.append(-hi)  # cell lower edges, most negative first
        ref_parts.append(ra[::-1])
        cur_parts.append(cb[::-1])
        edges.append(np.array([-lo[-1]]))  # gap cell up to zero
        ref_parts.append(np.zeros(1))
        cur_parts.append(np.zeros(1))
    edges.append(np.array([0.0]))  # the zero point: a cell of width 0
    ref_parts.append(np.array([float(a.zero_count)]))
    cur_parts.append(np.array([float(b.zero_count)]))
    pos = _dense_side(a, b, positive=True)
    if pos is not None:
        idx, ra, cb = pos
        lo, hi = bucket_bounds(idx, scale)
        edges.append(np.array([0.0]))  # gap cell from zero to the first positive bucket
        ref_parts.append(np.zeros(1))
        cur_parts.append(np.zeros(1))
        edges.append(lo)
        ref_parts.append(ra)
        cur_parts.append(cb)
        last = float(hi[-1])
    else:
        last = 0.0
    all_edges = np.concatenate([*edges, [last]])
    low = float(np.fmin(reference.min, current.min))
    high = float(np.fmax(reference.max, current.max))
    all_edges = _within(all_edges, low, high)
    return DenseGrid(all_edges, np.concatenate(ref_parts), np.concatenate(cur_parts))


def coarsen(grid: DenseGrid, n_bins: int) -> DenseGrid:
    """Merge adjacent cells into at most ``n_bins`` bins of roughly equal reference mass.

    Distances such as PSI and Jensen–Shannon grow with the number of bins through sampling
    noise alone; reference-quantile bins (deciles for PSI) keep their false-alarm rate stable.
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    ref_total = grid.reference.sum()
    cum = np.cumsum(grid.reference) / ref_total
    targets = np.arange(1, n_bins) / n_bins
    cuts = np.unique(np.searchsorted(cum, targets, side="left") + 1)
    cuts = cuts[(cuts > 0) & (cuts < grid.reference.size)]
    starts = np.concatenate([[0], cuts]).astype(np.intp)
    return DenseGrid(
        edges=np.concatenate([grid.edges[starts], grid.edges[-1:]]),
        reference=np.add.reduceat(grid.reference, starts),
        current=np.add.reduceat(grid.current, starts),
    )


def aligned_counts(
    reference: CategoricalCounts, current: CategoricalCounts
) -> tuple[list[str], FloatArray, FloatArray]:
    """Union of categories (sorted) and both sides' counts on it."""
    keys = sorted(set(reference.counts) | set(current.counts))
    ref = np.array([reference.counts.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([current.counts.get(k, 0) for k in keys], dtype=np.float64)
    return keys, ref, cur


def _within(values: FloatArray, low: float, high: float) -> FloatArray:
    """``values`` clamped to [low, high]; a NaN bound (OTLP's min and max are optional) clamps
    nothing on its side, where ``np.clip`` would turn every value into NaN."""
    return np.fmin(np.fmax(values, low), high)


def _cells(h: ExpHistogram) -> tuple[FloatArray, FloatArray, FloatArray]:
    lower, upper, counts = h.bucket_counts()
    return _within(lower, h.min, h.max), _within(upper, h.min, h.max), counts.astype(np.float64)


def histogram_std(h: ExpHistogram) -> float:
    """Population standard deviation estimated from the buckets (uniform within each bucket,
    exact mean from ``sum``); NaN when empty. Used to norm the Wasserstein distance."""
    if h.count == 0:
        return float("nan")
    lower, upper, counts = _cells(h)
    mid = (lower + upper) / 2
    width = upper - lower
    var = float(np.sum(counts * ((mid - h.mean) ** 2 + width**2 / 12)) / h.count)
    return float(np.sqrt(max(var, 0.0)))


def cdf(h: ExpHistogram, x: float) -> float:
    """Estimated share of values ≤ ``x`` (linear within buckets); NaN when empty."""
    if np.isnan(x):
        raise ValueError("x must not be NaN")
    if h.count == 0:
        return float("nan")
    lower, upper, counts = _cells(h)
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(width > 0, np.clip((x - lower) / width, 0.0, 1.0), (x >= upper) * 1.0)
    return float(np.sum(counts * inside) / h.count)
