"""Rare events judged as counts: is the rate of errors in a window above a baseline rate?

Errors are rare and arrive as small integers. Standardising the per-minute error share (as a
streaming detector does) breaks on them: a warm-up without a single error has zero variance,
and the first error then scores as an astronomic outlier. Here the window's count is compared
with the baseline's count by the exact conditional test for two Poisson rates, with a
minimum count and a minimum rate ratio beside the p-value.
"""

from __future__ import annotations

import math

from edgewatch.detectors._result import DriftResult, Verdict, fmt, insufficient

DEFAULT_MIN_COUNT = 3
"""Fewest events in the window that can ever alert: one or two errors are never a page."""
DEFAULT_MIN_RATIO = 2.0
"""Smallest rise of the rate against the baseline that counts (an effect-size floor)."""
DEFAULT_ALPHA = 0.0001
"""Per evaluation: a rule evaluated every minute looks ~150 times a day at a 10-minute window,
so 1e-4 keeps chance alerts near 0.01 per device-day (0.001 gave 0.1-0.2 on the messy fleet)."""


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _exposure(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def count_increase(
    count: int,
    exposure: float,
    reference_count: int,
    reference_exposure: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_count: int = DEFAULT_MIN_COUNT,
    min_ratio: float = DEFAULT_MIN_RATIO,
) -> DriftResult:
    """Did ``count`` events in ``exposure`` (e.g. errors among inferences) rise above the
    reference rate ``reference_count / reference_exposure``?

    Under equal rates, ``count`` given the total of both counts is binomial with success
    probability ``exposure / (exposure + reference_exposure)``; the p-value is its upper
    tail. Drift when p < ``alpha``, ``count`` ≥ ``min_count`` and the rate ratio (the
    reference count taken as at least 0.5, so an error-free reference is not a zero rate)
    reaches ``min_ratio``. Score: the rate ratio. Either exposure 0 → insufficient data.
    Example: ``count_increase(40, 2000, 30, 100_000).verdict``.
    Reference: Przyborowski & Wilenski (1940), Biometrika 31; Krishnamoorthy & Thomson
    (2004), "A more powerful test for comparing two Poisson means".
    """
    k = _count("count", count)
    k_ref = _count("reference_count", reference_count)
    n = _exposure("exposure", exposure)
    n_ref = _exposure("reference_exposure", reference_exposure)
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
    if not (math.isfinite(min_ratio) and min_ratio >= 1):
        raise ValueError(f"min_ratio must be finite and >= 1, got {min_ratio!r}")
    method = "count_increase"
    if n == 0 or n_ref == 0:
        return insufficient(
            method,
            min_ratio,
            f"exposure {fmt(n)} in the window, {fmt(n_ref)} in the reference",
            reference_count=k_ref,
            current_count=k,
        )
    from scipy.stats import binom  # lazy: only p-values need scipy

    share = n / (n + n_ref)
    p = float(binom.sf(k - 1, k + k_ref, share)) if k > 0 else 1.0
    rate, ref_rate = k / n, max(k_ref, 0.5) / n_ref
    ratio = rate / ref_rate
    drifted = p < alpha and k >= min_count and ratio >= min_ratio
    return DriftResult(
        method=method,
        score=ratio,
        threshold=min_ratio,
        verdict=Verdict.DRIFT if drifted else Verdict.NO_DRIFT,
        explanation=(
            f"{k} in {fmt(n)} (rate {fmt(rate)}) against {k_ref} in {fmt(n_ref)} (rate "
            f"{fmt(k_ref / n_ref)}): ratio {fmt(ratio)}, exact conditional p = {fmt(p)}; a rise "
            f"needs p < {fmt(alpha)}, ≥ {min_count} events and ratio ≥ {fmt(min_ratio)} → "
            f"{'rate increased' if drifted else 'rate normal'}"
        ),
        p_value=p,
        reference_count=k_ref,
        current_count=k,
    )
