"""The statistics behind the drift methods, on aligned count arrays or a shared grid.

Pure numpy; the few p-values that need distributions import scipy lazily so that a device
install (numpy only) can still import the package.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edgewatch.detectors._grid import DenseGrid

FloatArray = npt.NDArray[np.float64]


def _normalise(counts: FloatArray) -> FloatArray:
    return counts / counts.sum()


def psi(reference: FloatArray, current: FloatArray, epsilon: float) -> float:
    """Population stability index Σ (q − p)·ln(q / p), empty bins raised to ``epsilon``."""
    p = np.maximum(_normalise(reference), epsilon)
    q = np.maximum(_normalise(current), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: FloatArray, current: FloatArray) -> float:
    """Jensen–Shannon distance (natural log, in [0, √ln 2]), as ``scipy.spatial.distance.jensenshannon``."""
    p, q = _normalise(reference), _normalise(current)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sqrt(max(float(kl_p.sum() + kl_q.sum()) / 2, 0.0)))


def hellinger(reference: FloatArray, current: FloatArray) -> float:
    """Hellinger distance √(1 − Σ √(p·q)), in [0, 1]."""
    p, q = _normalise(reference), _normalise(current)
    bc = float(np.clip(np.sum(np.sqrt(p * q)), 0.0, 1.0))
    return math.sqrt(1.0 - bc)


def _cdf_gaps(grid: DenseGrid) -> FloatArray:
    f = np.concatenate([[0.0], np.cumsum(grid.reference)]) / grid.reference.sum()
    g = np.concatenate([[0.0], np.cumsum(grid.current)]) / grid.current.sum()
    return np.asarray(f - g, dtype=np.float64)


def ks_statistic(grid: DenseGrid) -> tuple[float, float]:
    """KS statistic on the grid's cell edges and its binning error.

    The edge value is a lower bound of the statistic on the raw values; inside a cell the
    empirical CDFs stay between their edge values, so the raw statistic is at most
    ``max_k max(|F(k+1) − G(k)|, |G(k+1) − F(k)|)``. Returns ``(d, upper_bound − d)``.
    """
    f = np.concatenate([[0.0], np.cumsum(grid.reference)]) / grid.reference.sum()
    g = np.concatenate([[0.0], np.cumsum(grid.current)]) / grid.current.sum()
    d = float(np.max(np.abs(f - g)))
    upper = float(max(np.max(np.abs(f[1:] - g[:-1])), np.max(np.abs(g[1:] - f[:-1])), d))
    return d, upper - d


def ks_p_value(d: float, n_reference: int, n_current: int) -> float:
    """Asymptotic two-sided p-value from the effective sample size n·m/(n+m), as scipy's
    ``ks_2samp(method="asymp")``."""
    from scipy.stats import kstwo  # lazy: only p-values need scipy

    en = n_reference * n_current / (n_reference + n_current)
    return float(np.clip(kstwo.sf(d, round(en)), 0.0, 1.0))


def wasserstein(grid: DenseGrid) -> tuple[float, float]:
    """First Wasserstein distance ∫|F − G| with mass uniform within cells, and its binning error.

    Moving each value within its cell costs at most half the cell width, so the raw-value
    distance is within ``Σ (p_k + q_k)·w_k / 2`` of the grid distance.
    """
    d = _cdf_gaps(grid)
    w = grid.widths
    d0, d1 = d[:-1], d[1:]
    same_sign = d0 * d1 >= 0
    denom = np.abs(d0) + np.abs(d1)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(denom > 0, (d0**2 + d1**2) / (2 * denom), 0.0)
    area = np.where(same_sign, (np.abs(d0) + np.abs(d1)) / 2, crossing) * w
    p, q = grid.proportions()
    bound = float(np.sum((p + q) * w) / 2)
    return float(area.sum()), bound


def chi_square(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Pearson chi-square of current counts against reference proportions scaled to the
    current total (Evidently's categorical test); returns ``(statistic, p_value)``.

    A category present now but absent from the reference has zero expected count: the
    statistic is infinite and the p-value 0.
    """
    from scipy.stats import chi2  # lazy: only p-values need scipy

    expected = reference * (current.sum() / reference.sum())
    if np.any((expected == 0) & (current > 0)):
        return math.inf, 0.0
    keep = expected > 0
    stat = float(np.sum((current[keep] - expected[keep]) ** 2 / expected[keep]))
    dof = int(keep.sum()) - 1
    if dof < 1:
        return 0.0, 1.0
    return stat, float(chi2.sf(stat, dof))


def two_proportion_z(
    ref_hits: float, n_ref: float, cur_hits: float, n_cur: float
) -> tuple[float, float]:
    """Pooled two-proportion z-test; returns ``(z, two-sided p-value)``."""
    p1, p2 = ref_hits / n_ref, cur_hits / n_cur
    pooled = (ref_hits + cur_hits) / (n_ref + n_cur)
    var = pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur)
    if var == 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2))
