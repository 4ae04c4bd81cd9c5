"""Always-valid confidence sequences: intervals that may be checked after every new observation.

A fixed-sample test re-run every minute fails a healthy rollout far more often than its nominal
rate, because each look is another chance. The normal-mixture sequential probability ratio test
(mSPRT; Robbins 1970, Johari, Pekelis & Walsh 2017 "Always valid inference") does not: with the
effect estimate ``θ̂`` of variance ``V`` and a normal mixing distribution of variance ``τ²`` over
the alternatives, the likelihood-ratio martingale is

    Λ(θ) = sqrt(V / (V + τ²)) · exp(τ² (θ̂ − θ)² / (2 V (V + τ²)))

and by Ville's inequality ``P(Λ(θ_true) ≥ 1/α at any time) ≤ α``. The set of ``θ`` with
``Λ(θ) < 1/α`` is a confidence sequence: it covers the true effect at every look at once, with
probability at least ``1 − α``. The Gaussian form is asymptotic (the estimate's CLT), as in
Johari et al. and the asymptotic confidence sequences of Waudby-Smith et al. (2021).

Example:
    >>> round(half_width(variance=0.01, alpha=0.05, mixing_sd=0.1), 3)
    0.366
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MIXING_SD = 0.1
"""Spread ``τ`` of the mixture over effects: tuned for effects of about 10 % (on a log scale)
or 10 points of accuracy; any positive value keeps the guarantee, it only moves the power."""


@dataclass(frozen=True, slots=True)
class Interval:
    """An always-valid interval for an effect: ``lower <= effect <= upper`` at every look."""

    estimate: float
    lower: float
    upper: float


def half_width(variance: float, alpha: float, mixing_sd: float = DEFAULT_MIXING_SD) -> float:
    """Half-width of the mSPRT confidence sequence for an estimate of variance ``variance``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if mixing_sd <= 0:
        raise ValueError(f"mixing_sd must be > 0, got {mixing_sd}")
    if variance <= 0:
        return 0.0 if variance == 0 else math.inf
    tau2 = mixing_sd * mixing_sd
    log_bound = math.log(1.0 / alpha) + 0.5 * math.log((variance + tau2) / variance)
    return math.sqrt(2.0 * variance * (variance + tau2) / tau2 * log_bound)


def confidence_sequence(
    estimate: float, variance: float, alpha: float, mixing_sd: float = DEFAULT_MIXING_SD
) -> Interval:
    """The always-valid interval around ``estimate`` (unbounded when the variance is unknown)."""
    if not math.isfinite(estimate) or not math.isfinite(variance):
        return Interval(estimate, -math.inf, math.inf)
    h = half_width(variance, alpha, mixing_sd)
    return Interval(estimate, estimate - h, estimate + h)
