"""Accuracy without labels: a calibration map from score to probability of being right, fitted
once on labelled reference data, applied to a window's score histogram.

This is CBPE's idea (NannyML: the expected accuracy is the mean calibrated confidence) applied to
mergeable summaries: the device sends only its score histogram, never per-row scores. The map is
an isotonic regression (pool-adjacent-violators, Ayer et al. 1955) interpolated linearly between
its blocks, as scikit-learn's ``IsotonicRegression`` predicts.

Example::

    cal = fit_calibration(reference_scores, reference_correct)
    est = estimate_accuracy(score_histogram, cal)
    est.accuracy, est.low, est.high
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edgewatch.detectors._histogram import ExpHistogram
from edgewatch.detectors._performance import DEFAULT_CONFIDENCE, z_value

DEFAULT_POINTS_PER_BUCKET = 8
"""Scores sampled evenly inside each histogram bucket to average the map over it (the rows'
positions inside a bucket are unknown; evenly spread is the least assuming)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Monotone map from score to P(prediction correct): knots ``x`` → ``y``, with the number of
    reference rows behind each knot (its weight, for the map's own uncertainty)."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]
    rows: int
    reference_accuracy: float
    score_min: float = math.nan
    """Lowest reference score (NaN: the first knot); below it the map only extrapolates."""
    score_max: float = math.nan

    @property
    def score_range(self) -> tuple[float, float]:
        """The scores the reference covered."""
        lo = self.x[0] if math.isnan(self.score_min) else self.score_min
        hi = self.x[-1] if math.isnan(self.score_max) else self.score_max
        return float(lo), float(hi)

    def __call__(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probability of being right at each score (constant beyond the end knots)."""
        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the baseline of a model version)."""
        return {
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "weight": self.weight.tolist(),
            "rows": self.rows,
            "reference_accuracy": self.reference_accuracy,
            "score_min": self.score_range[0],
            "score_max": self.score_range[1],
        }


def calibration_from_dict(data: Mapping[str, Any]) -> Calibration:
    """Inverse of ``Calibration.to_dict``."""
    return Calibration(
        x=np.asarray(data["x"], dtype=np.float64),
        y=np.asarray(data["y"], dtype=np.float64),
        weight=np.asarray(data["weight"], dtype=np.float64),
        rows=int(data["rows"]),
        reference_accuracy=float(data["reference_accuracy"]),
        score_min=float(data.get("score_min", math.nan)),
        score_max=float(data.get("score_max", math.nan)),
    )


@dataclass(frozen=True, slots=True)
class AccuracyEstimate:
    """Expected accuracy of a window from its scores, with a two-sided interval.

    ``std`` combines the window's own sampling (Poisson-binomial: each prediction is right with
    its calibrated probability) and the calibration map's error from a finite reference.
    """

    count: int
    accuracy: float
    std: float
    low: float
    high: float
    outside: float = 0.0
    """Share of the scores beyond the reference's range, where the map only extrapolates."""
    map_variance: float = 0.0
    """The part of ``std**2`` due to the calibration map's error. Unlike the sampling part it is
    shared by every window judged with the same map, so it does not shrink as windows add up."""
    map_loadings: tuple[float, ...] = field(default=(), repr=False)
    """The accuracy's error per standard deviation of each knot's error: the window's mass at
    the knot times the knot's standard deviation, so ``map_variance == sum(u * u)``. Windows
    judged with one map add these (count-weighted) before squaring: ``pooled_map_variance``.
    Empty when not known (an estimate built by hand)."""


def pool_adjacent_violators(
    y: npt.ArrayLike, weight: npt.ArrayLike | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Non-decreasing least-squares fit of ``y`` (in the order given).

    Returns the block means, block weights and the index of each block's first element.
    """
    values = np.asarray(y, dtype=np.float64)
    w = np.ones_like(values) if weight is None else np.asarray(weight, dtype=np.float64)
    means: list[float] = []
    weights: list[float] = []
    starts: list[int] = []
    for i, (v, wi) in enumerate(zip(values.tolist(), w.tolist(), strict=True)):
        means.append(v)
        weights.append(wi)
        starts.append(i)
        while len(means) > 1 and means[-2] >= means[-1]:
            w2 = weights[-2] + weights[-1]
            m2 = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w2
            means[-2:] = [m2]
            weights[-2:] = [w2]
            starts.pop()
    return np.asarray(means), np.asarray(weights), np.asarray(starts, dtype=np.int64)


def fit_calibration(scores: npt.ArrayLike, correct: npt.ArrayLike) -> Calibration:
    """Isotonic map from score to the share of correct predictions, from labelled reference rows.

    Ties in score are pooled first; each block of the fit becomes one knot at its rows' mean score.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=np.float64).reshape(-1)
    if s.shape != c.shape:
        raise ValueError(f"scores and correct differ in length: {s.size} != {c.size}")
    keep = np.isfinite(s) & np.isfinite(c)
    s, c = s[keep], c[keep]
    if s.size == 0:
        raise ValueError("calibration needs at least one labelled row with a finite score")
    unique, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=c)
    means, weights, starts = pool_adjacent_violators(sums / counts, counts)
    score_sums = np.add.reduceat(unique * counts, starts)
    x = score_sums / weights
    return Calibration(
        x=x,
        y=np.clip(means, 0.0, 1.0),
        weight=weights,
        rows=int(s.size),
        reference_accuracy=float(c.mean()),
        score_min=float(unique[0]),
        score_max=float(unique[-1]),
    )


def fit_one_vs_rest_calibration(probabilities: npt.ArrayLike, truth: npt.ArrayLike) -> Calibration:
    """Pooled one-vs-rest map fitted on every class probability of every reference row.

    ``probabilities`` is ``(rows, classes)``; ``truth`` the index of each row's true class (-1
    for a class the model does not know). Each probability is paired with whether its class was
    the truth, so the map learns P(class is right | probability) from ``classes`` times as many
    pairs as the top scores alone, including the low probabilities a shifted window's top
    scores fall to. Applied to a window's top scores it estimates accuracy, like CBPE's
    per-class calibration; ``reference_accuracy`` is the argmax accuracy.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(truth, dtype=np.int64).reshape(-1)
    if p.ndim != 2 or p.shape[0] != t.size:
        raise ValueError(f"probabilities must be (rows, classes) matching truth, got {p.shape}")
    hit = t[:, None] == np.arange(p.shape[1])[None, :]
    pooled = fit_calibration(p.reshape(-1), hit.reshape(-1))
    return Calibration(
        x=pooled.x,
        y=pooled.y,
        weight=pooled.weight,
        rows=int(t.size),
        reference_accuracy=float((p.argmax(axis=1) == t).mean()),
        score_min=pooled.score_min,
        score_max=pooled.score_max,
    )


def _knot_weights(cal: Calibration, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Matrix ``W`` with ``W @ cal.y == cal(scores)``: each score's linear interpolation weights."""
    k = cal.x.size
    out = np.zeros((scores.size, k))
    if k == 1:
        out[:, 0] = 1.0
        return out
    right = np.clip(np.searchsorted(cal.x, scores, side="right"), 1, k - 1)
    left = right - 1
    span = cal.x[right] - cal.x[left]
    t = np.clip((scores - cal.x[left]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    rows = np.arange(scores.size)
    np.add.at(out, (rows, left), 1.0 - t)
    np.add.at(out, (rows, right), t)
    return out


def estimate_accuracy(
    scores: ExpHistogram,
    calibration: Calibration,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    points_per_bucket: int = DEFAULT_POINTS_PER_BUCKET,
) -> AccuracyEstimate:
    """Expected accuracy of the predictions summarised by ``scores`` (CBPE on a histogram).

    Each bucket contributes its count times the map averaged over the bucket. The variance adds
    the Poisson-binomial variance of the number right, ``Σ p(1-p)``, and the map's error, each
    knot's mean being a binomial share of the reference rows pooled into it.
    """
    if points_per_bucket < 1:
        raise ValueError(f"points_per_bucket must be >= 1, got {points_per_bucket}")
    nan = float("nan")
    if scores.count == 0:
        return AccuracyEstimate(0, nan, nan, nan, nan, nan, nan)
    lower, upper, counts = scores.bucket_counts()
    lower = np.maximum(lower, scores.min) if math.isfinite(scores.min) else lower
    upper = np.minimum(upper, scores.max) if math.isfinite(scores.max) else upper
    upper = np.maximum(upper, lower)
    frac = (np.arange(points_per_bucket) + 0.5) / points_per_bucket
    points = lower[:, None] + (upper - lower)[:, None] * frac[None, :]
    p = calibration(points)  # (buckets, points)
    n = float(counts.sum())
    p_bucket = p.mean(axis=1)
    accuracy = float((counts * p_bucket).sum() / n)
    sampling_var = float((counts * (p * (1.0 - p)).mean(axis=1)).sum()) / (n * n)
    weights = _knot_weights(calibration, points.reshape(-1)).reshape(
        counts.size, points_per_bucket, -1
    )
    share = (counts[:, None] * weights.mean(axis=1)).sum(axis=0) / n  # window mass per knot
    w = calibration.weight
    smoothed = (calibration.y * w + 1.0) / (w + 2.0)  # keeps a block of all-right rows uncertain
    loadings = share * np.sqrt(smoothed * (1.0 - smoothed) / w)
    map_var = float((loadings * loadings).sum())
    std = math.sqrt(sampling_var + map_var)
    z = z_value(confidence)
    lo, hi = calibration.score_range
    beyond = (points < lo) | (points > hi)
    outside = float((counts * beyond.mean(axis=1)).sum() / n)
    return AccuracyEstimate(
        count=int(n),
        accuracy=accuracy,
        std=std,
        low=max(0.0, accuracy - z * std),
        high=min(1.0, accuracy + z * std),
        outside=outside,
        map_variance=map_var,
        map_loadings=tuple(loadings.tolist()),
    )


def pooled_map_variance(estimates: Sequence[AccuracyEstimate]) -> float:
    """Map variance of the count-weighted mean accuracy of several windows judged with one map.

    Each window's accuracy is linear in the map's knots, ``Σ_k s_k y_k`` (``s`` its mass per
    knot), so the mean's map error is ``Σ_k (Σ_i a_i s_ik) e_k``, ``a_i`` the windows' count
    shares and ``e_k`` the knots' independent errors. One draw of ``e`` is shared by all the
    windows and does not average away; its variance, ``Σ_k (Σ_i a_i u_ik)²`` over the windows'
    ``map_loadings`` ``u``, is returned exactly. It is at most the square of the count-weighted
    mean of the windows' map standard deviations (Minkowski), and that bound stands in for any
    window without loadings. Not the map variance of one estimate of the windows' scores merged
    into one histogram: that is another estimator (the merge may coarsen the buckets and widens
    the edge buckets to the merged range) and its map variance may be a little larger.
    0 without counts; a ``ValueError`` for loadings over different knots (different maps).
    """
    parts = [e for e in estimates if e.count > 0 and math.isfinite(e.map_variance)]
    n = sum(e.count for e in parts)
    if n == 0:
        return 0.0
    exact = [e for e in parts if e.map_loadings]
    knots = {len(e.map_loadings) for e in exact}
    if len(knots) > 1:
        raise ValueError(
            f"map_loadings over different numbers of knots {sorted(knots)}: one map judges all"
        )
    loadings = (
        np.asarray([e.map_loadings for e in exact]).T @ np.asarray([e.count for e in exact])
        if exact
        else np.zeros(1)
    )
    std = math.sqrt(float(loadings @ loadings)) + sum(
        e.count * math.sqrt(max(e.map_variance, 0.0)) for e in parts if not e.map_loadings
    )
    return (std / n) ** 2
