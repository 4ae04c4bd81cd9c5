"""Two-sample drift methods on histograms and categorical counts, and Evidently's default choice.

Every method is a small class: hyper-parameters in ``__init__`` (named as there), one
``compare(reference, current) -> DriftResult``. Numeric inputs are ``ExpHistogram``;
categorical inputs are ``CategoricalCounts``. Too few observations on either side gives
``Verdict.INSUFFICIENT_DATA``, never drift.

Reference: Evidently 0.7 ``legacy/calculations/stattests`` (thresholds and method choice).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Protocol, TypeAlias

from edgewatch.detectors._categorical import CategoricalCounts
from edgewatch.detectors._grid import (
    FloatArray,
    aligned_counts,
    coarsen,
    histogram_std,
    shared_grid,
)
from edgewatch.detectors._histogram import ExpHistogram
from edgewatch.detectors._result import DEFAULT_MIN_SAMPLES, DriftResult, Verdict, fmt, insufficient
from edgewatch.detectors._stats import (
    chi_square,
    hellinger,
    js_distance,
    ks_p_value,
    ks_statistic,
    psi,
    two_proportion_z,
    wasserstein,
)

Sample: TypeAlias = ExpHistogram | CategoricalCounts


class TwoSampleMethod(Protocol):
    """A two-sample drift method: hyper-parameters fixed at construction, then ``compare``."""

    name: ClassVar[str]
    threshold: float
    min_samples: int

    def compare(self, reference: Sample, current: Sample) -> DriftResult:
        """Judge whether ``current`` drifted from ``reference``."""
        ...


DEFAULT_N_BINS = 10
"""Reference-quantile bins for PSI, Jensen–Shannon and Hellinger on numeric histograms."""
DEFAULT_PSI_EPSILON = 1e-4
"""Floor for empty-bin proportions in PSI (Evidently uses the same 0.0001)."""
DEFAULT_MIN_STD = 1e-3
"""Smallest reference standard deviation used to norm Wasserstein (as Evidently)."""
SMALL_REFERENCE = 1000
"""Evidently's switch: references up to this size use tests (p-values), larger ones distances."""


def _check_threshold(threshold: float, *, p_value: bool) -> float:
    t = float(threshold)
    if not math.isfinite(t) or t <= 0 or (p_value and t >= 1):
        bound = "in (0, 1)" if p_value else "finite and > 0"
        raise ValueError(f"threshold must be {bound}, got {threshold!r}")
    return t


def _check_min_samples(min_samples: int) -> int:
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise ValueError(f"min_samples must be an int >= 1, got {min_samples!r}")
    return min_samples


def _count(sample: Sample) -> int:
    return sample.count


class _Method(ABC):
    """Shared checks: input kinds, the minimum-sample guard, the explanation text."""

    name: ClassVar[str]
    label: ClassVar[str]
    uses_p_value: ClassVar[bool] = False
    accepts: ClassVar[tuple[type, ...]] = (ExpHistogram, CategoricalCounts)

    def __init__(self, threshold: float, min_samples: int) -> None:
        self.threshold = _check_threshold(threshold, p_value=self.uses_p_value)
        self.min_samples = _check_min_samples(min_samples)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    def compare(self, reference: Sample, current: Sample) -> DriftResult:
        """Judge whether ``current`` drifted from ``reference``."""
        for arg, value in (("reference", reference), ("current", current)):
            if not isinstance(value, self.accepts):
                kinds = " or ".join(k.__name__ for k in self.accepts)
                raise ValueError(f"{self.name}: {arg} must be {kinds}, got {type(value).__name__}")
        if type(reference) is not type(current):
            raise ValueError(
                f"{self.name}: reference is {type(reference).__name__} but current is "
                f"{type(current).__name__}; compare like with like"
            )
        n_ref, n_cur = _count(reference), _count(current)
        if min(n_ref, n_cur) < self.min_samples:
            side = "reference" if n_ref < self.min_samples else "current"
            return insufficient(
                self.name,
                self.threshold,
                f"{side} has {min(n_ref, n_cur)} observations, fewer than min_samples={self.min_samples}",
                reference_count=n_ref,
                current_count=n_cur,
            )
        return self._compare(reference, current, n_ref, n_cur)

    @abstractmethod
    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        """The method's own comparison, once both sides have enough observations."""

    def _result(
        self,
        score: float,
        n_ref: int,
        n_cur: int,
        *,
        detail: str = "",
        p_value: float | None = None,
        statistic: float | None = None,
        binning_error: float | None = None,
    ) -> DriftResult:
        if self.uses_p_value:
            drifted = score < self.threshold
            rule = f"p = {fmt(score)} {'<' if drifted else '≥'} {fmt(self.threshold)}"
        else:
            drifted = score >= self.threshold
            rule = f"{fmt(score)} {'≥' if drifted else '<'} {fmt(self.threshold)}"
        verdict = Verdict.DRIFT if drifted else Verdict.NO_DRIFT
        extra = f" ({detail})" if detail else ""
        return DriftResult(
            method=self.name,
            score=score,
            threshold=self.threshold,
            verdict=verdict,
            explanation=(
                f"{self.label}{extra}: {rule} → {'drift' if drifted else 'no drift'} "
                f"(reference n={n_ref}, current n={n_cur})"
            ),
            p_value=p_value,
            statistic=statistic,
            reference_count=n_ref,
            current_count=n_cur,
            binning_error=binning_error,
        )


class _Binned(_Method):
    """Distances on proportions: exact categories, or reference-quantile bins for histograms.
    A subclass names itself and gives ``_distance``; drift when distance ≥ threshold."""

    def __init__(
        self,
        threshold: float = 0.1,
        *,
        n_bins: int = DEFAULT_N_BINS,
        min_samples: int = DEFAULT_MIN_SAMPLES,
    ) -> None:
        super().__init__(threshold, min_samples)
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
            raise ValueError(f"n_bins must be an int >= 2, got {n_bins!r}")
        self.n_bins = n_bins

    @abstractmethod
    def _distance(self, reference: FloatArray, current: FloatArray) -> float:
        """The distance between two aligned count vectors."""

    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        ref, cur = self._counts(reference, current)
        return self._result(self._distance(ref, cur), n_ref, n_cur)

    def _counts(self, reference: Sample, current: Sample) -> tuple[FloatArray, FloatArray]:
        if isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts):
            _, ref, cur = aligned_counts(reference, current)
            return ref, cur
        assert isinstance(reference, ExpHistogram) and isinstance(current, ExpHistogram)
        grid = coarsen(shared_grid(reference, current), self.n_bins)
        return grid.reference, grid.current


class Psi(_Binned):
    """Population stability index; drift when PSI ≥ threshold.

    Example: ``Psi().compare(from_values(ref), from_values(cur)).score``.
    Reference: Yurdakul (2018), "Statistical properties of population stability index".
    """

    name = "psi"
    label = "PSI"

    def __init__(
        self,
        threshold: float = 0.1,
        *,
        epsilon: float = DEFAULT_PSI_EPSILON,
        n_bins: int = DEFAULT_N_BINS,
        min_samples: int = DEFAULT_MIN_SAMPLES,
    ) -> None:
        super().__init__(threshold, n_bins=n_bins, min_samples=min_samples)
        if not (math.isfinite(epsilon) and 0 < epsilon < 1):
            raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
        self.epsilon = float(epsilon)

    def _distance(self, reference: FloatArray, current: FloatArray) -> float:
        return psi(reference, current, self.epsilon)


class JensenShannon(_Binned):
    """Jensen–Shannon distance (natural log); drift when distance ≥ threshold.

    Example: ``JensenShannon().compare(categorical_counts(a), categorical_counts(b))``.
    Reference: Lin (1991), "Divergence measures based on the Shannon entropy".
    """

    name = "jensenshannon"
    label = "Jensen–Shannon distance"

    def _distance(self, reference: FloatArray, current: FloatArray) -> float:
        return js_distance(reference, current)


class Hellinger(_Binned):
    """Hellinger distance; drift when distance ≥ threshold.

    Example: ``Hellinger().compare(from_values(ref), from_values(cur))``.
    Reference: Hellinger (1909); Evidently's ``hellinger`` stattest.
    """

    name = "hellinger"
    label = "Hellinger distance"

    def _distance(self, reference: FloatArray, current: FloatArray) -> float:
        return hellinger(reference, current)


class _PValueTest(_Method):
    """A significance test: drift when its p-value is below ``threshold`` (default 0.05)."""

    uses_p_value = True

    def __init__(self, threshold: float = 0.05, *, min_samples: int = DEFAULT_MIN_SAMPLES) -> None:
        super().__init__(threshold, min_samples)


class Wasserstein(_Method):
    """First Wasserstein distance, by default normed by the reference standard deviation
    (estimated from its buckets, floored at ``min_std``, as Evidently norms by ``np.std``).

    Example: ``Wasserstein().compare(from_values(ref), from_values(cur)).score``.
    Reference: Villani (2009), "Optimal transport"; Evidently ``wasserstein`` stattest.
    """

    name = "wasserstein"
    label = "Wasserstein distance"
    accepts = (ExpHistogram,)

    def __init__(
        self,
        threshold: float = 0.1,
        *,
        normed: bool = True,
        min_std: float = DEFAULT_MIN_STD,
        min_samples: int = DEFAULT_MIN_SAMPLES,
    ) -> None:
        super().__init__(threshold, min_samples)
        if not (math.isfinite(min_std) and min_std > 0):
            raise ValueError(f"min_std must be finite and > 0, got {min_std!r}")
        self.normed = bool(normed)
        self.min_std = float(min_std)

    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        assert isinstance(reference, ExpHistogram) and isinstance(current, ExpHistogram)
        distance, bound = wasserstein(shared_grid(reference, current))
        if not self.normed:
            return self._result(distance, n_ref, n_cur, binning_error=bound)
        norm = max(histogram_std(reference), self.min_std)
        return self._result(
            distance / norm,
            n_ref,
            n_cur,
            detail=f"normed by reference std {fmt(norm)}",
            binning_error=bound / norm,
        )


class KolmogorovSmirnov(_PValueTest):
    """Two-sample Kolmogorov–Smirnov test on histograms; drift when p < threshold.

    The statistic is read at bucket edges (a lower bound of the raw-value statistic, within
    ``binning_error``); the p-value is scipy's asymptotic one at the effective size n·m/(n+m).
    Example: ``KolmogorovSmirnov().compare(from_values(ref), from_values(cur)).p_value``.
    Reference: Smirnov (1948); ``scipy.stats.ks_2samp``.
    """

    name = "ks"
    label = "Kolmogorov–Smirnov"
    accepts = (ExpHistogram,)

    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        assert isinstance(reference, ExpHistogram) and isinstance(current, ExpHistogram)
        d, bound = ks_statistic(shared_grid(reference, current))
        p = ks_p_value(d, n_ref, n_cur)
        return self._result(
            p, n_ref, n_cur, detail=f"D = {fmt(d)}", p_value=p, statistic=d, binning_error=bound
        )


class ChiSquare(_PValueTest):
    """Pearson chi-square test of current category counts against reference proportions;
    drift when p < threshold.

    Example: ``ChiSquare().compare(categorical_counts(a), categorical_counts(b))``.
    Reference: Pearson (1900); Evidently ``chisquare`` stattest, ``scipy.stats.chisquare``.
    """

    name = "chisquare"
    label = "Chi-square"
    accepts = (CategoricalCounts,)

    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        assert isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts)
        _, ref, cur = aligned_counts(reference, current)
        stat, p = chi_square(ref, cur)
        return self._result(p, n_ref, n_cur, detail=f"χ² = {fmt(stat)}", p_value=p, statistic=stat)


class ZTest(_PValueTest):
    """Pooled two-proportion z-test for binary categories; drift when p < threshold.

    Example: ``ZTest().compare(categorical_counts([0, 1, 1]), categorical_counts([1, 1, 1]))``.
    Reference: Evidently ``z`` stattest (the share of the first category, sorted by name).
    """

    name = "z"
    label = "Z-test"
    accepts = (CategoricalCounts,)

    def _compare(self, reference: Sample, current: Sample, n_ref: int, n_cur: int) -> DriftResult:
        assert isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts)
        keys, ref, cur = aligned_counts(reference, current)
        if len(keys) > 2:
            raise ValueError(f"z: needs at most 2 categories, got {len(keys)}: {keys[:5]}")
        z, p = two_proportion_z(float(ref[0]), n_ref, float(cur[0]), n_cur)
        return self._result(p, n_ref, n_cur, detail=f"z = {fmt(z)}", p_value=p, statistic=z)


DRIFT_METHODS: dict[str, Callable[..., TwoSampleMethod]] = {
    cls.name: cls
    for cls in (Psi, JensenShannon, Hellinger, Wasserstein, KolmogorovSmirnov, ChiSquare, ZTest)
}
"""Two-sample drift methods by registry name."""


def auto_method(reference: Sample, current: Sample) -> str:
    """Evidently's default choice for one column (``_get_default_stattest``).

    Reference ≤ 1000 observations: numeric → ``ks``; categorical with ≤ 2 categories (both
    sides together) → ``z``, else ``chisquare``. Larger references: numeric →
    ``wasserstein`` (normed), categorical → ``jensenshannon``. A numeric histogram is taken to
    hold more than 5 distinct values: send few-valued columns as categorical counts.
    """
    if isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts):
        n_values = len(set(reference.counts) | set(current.counts))
        if reference.count <= SMALL_REFERENCE:
            return "z" if n_values <= 2 else "chisquare"
        return "jensenshannon"
    if isinstance(reference, ExpHistogram) and isinstance(current, ExpHistogram):
        return "ks" if reference.count <= SMALL_REFERENCE else "wasserstein"
    raise ValueError(
        f"reference and current must both be ExpHistogram or both CategoricalCounts, got "
        f"{type(reference).__name__} and {type(current).__name__}"
    )


def drift(
    reference: Sample,
    current: Sample,
    method: str = "auto",
    threshold: float | None = None,
    *,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> DriftResult:
    """Compare one feature's current distribution with its reference.

    ``method="auto"`` picks as Evidently's DataDriftPreset does (see ``auto_method``);
    ``threshold=None`` uses the method's default (0.05 for p-values, 0.1 for distances).
    Example: ``drift(from_values(ref), from_values(cur)).verdict``.
    """
    name = auto_method(reference, current) if method == "auto" else method
    if name not in DRIFT_METHODS:
        raise ValueError(f"method must be 'auto' or one of {sorted(DRIFT_METHODS)}, got {method!r}")
    factory = DRIFT_METHODS[name]
    if threshold is None:
        return factory(min_samples=min_samples).compare(reference, current)
    return factory(threshold, min_samples=min_samples).compare(reference, current)
