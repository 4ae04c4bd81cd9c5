"""Alpha spending over time: a daily budget of false alarms shared by a rule's evaluations.

Benjamini–Hochberg at level ``q`` over one evaluation's tests keeps the chance that a
no-drift evaluation calls anything drifted at ``q`` (under the complete null, BH's
family-wise error rate is ``q``). A rule evaluated every 5 minutes runs 288 evaluations a
day, so a level of 1 % per evaluation is up to 288 × 1 % chances a day of a false alert.
Spending a daily budget ``alpha_per_day`` across the day's evaluations — each evaluation at
``alpha_per_day / evaluations per day`` — keeps the chance of any false alert from a
no-drift rule over a day ≤ ``alpha_per_day`` (Bonferroni over time: the union bound of the
evaluations' error rates; it holds however the evaluations' overlapping windows correlate).
Reference: Lan & DeMets (1983), Biometrika 70(3), for spending a level over looks.
"""

from __future__ import annotations

import math

from edgewatch.detectors._seasonal import SECONDS_PER_DAY


def evaluations_per_day(interval_s: float, day_s: float = SECONDS_PER_DAY) -> int:
    """How many evaluations a rule run every ``interval_s`` makes in ``day_s`` (rounded up,
    at least one): ``day_s`` is the fleet's day, so a rule time scale that shrinks both the
    interval and the day leaves the count, and the budget per evaluation, unchanged.
    Example: ``evaluations_per_day(300.0)`` → ``288``."""
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be finite and > 0, got {interval_s!r}")
    if not (math.isfinite(day_s) and day_s > 0):
        raise ValueError(f"day_s must be finite and > 0, got {day_s!r}")
    # A relative tolerance: 86400 / (300 / 60) / (86400 / 60) is 288 in words, not in floats.
    return max(1, math.ceil(day_s / interval_s * (1 - 1e-12)))


def spent_level(
    alpha: float, alpha_per_day: float, interval_s: float, day_s: float = SECONDS_PER_DAY
) -> float:
    """The level one evaluation may use: ``min(alpha, alpha_per_day / evaluations per day)``,
    so the day's evaluations together spend at most ``alpha_per_day``.
    Example: ``spent_level(0.01, 0.01, 300.0)`` → ``0.01 / 288``."""
    for name, value in (("alpha", alpha), ("alpha_per_day", alpha_per_day)):
        if not (math.isfinite(value) and 0 < value < 1):
            raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return min(alpha, alpha_per_day / evaluations_per_day(interval_s, day_s))


__all__ = ["evaluations_per_day", "spent_level"]
