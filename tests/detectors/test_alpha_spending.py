"""Alpha spending over a day's evaluations (issue #15): the level each evaluation of a
``drift_fdr`` rule may use, checked against a numpy/scipy simulation of no-drift days."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from edgewatch.detectors import SECONDS_PER_DAY, evaluations_per_day, spent_level


def _daily_false_alarm_rate(
    level: float, evaluations: int, tests: int, days: int, seed: int
) -> float:
    """Oracle: the share of simulated no-drift days (uniform p-values) on which scipy's
    Benjamini–Hochberg at ``level`` rejects anything in any of the day's evaluations."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=(days, evaluations, tests))
    adjusted = stats.false_discovery_control(p, axis=-1, method="bh")
    return float(np.mean(np.any(adjusted <= level, axis=(1, 2))))


@settings(max_examples=25, deadline=None)
@given(
    budget=st.floats(0.05, 0.5),
    evaluations=st.integers(1, 40),
    tests=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_drift_days_alarm_within_the_daily_budget(
    budget: float, evaluations: int, tests: int, seed: int
) -> None:
    interval_s = SECONDS_PER_DAY / evaluations
    level = spent_level(0.5, budget, interval_s)
    days = 2_000
    rate = _daily_false_alarm_rate(level, evaluations, tests, days, seed)
    # Four binomial standard errors above the budget: the bound itself is exact in law.
    assert rate <= budget + 4 * math.sqrt(budget * (1 - budget) / days)


def test_a_five_minute_rule_without_spending_alarms_most_days() -> None:
    """The problem spending fixes: 288 evaluations a day at 1 % each alarm on nearly every
    no-drift day; spending a 1 % budget over them alarms on about 1 % of days."""
    assert _daily_false_alarm_rate(0.01, 288, 4, 2_000, seed=1) > 0.9
    spent = spent_level(0.01, 0.01, 300.0)
    assert spent == pytest.approx(0.01 / 288)
    assert _daily_false_alarm_rate(spent, 288, 4, 2_000, seed=1) <= 0.01 + 4 * math.sqrt(
        0.01 * 0.99 / 2_000
    )


@given(
    alpha=st.floats(1e-6, 0.99),
    budget=st.floats(1e-6, 0.99),
    interval_s=st.floats(1.0, 2 * SECONDS_PER_DAY),
    factor=st.floats(1.0, 3_600.0),
)
def test_level_is_capped_spends_at_most_the_budget_and_ignores_the_time_scale(
    alpha: float, budget: float, interval_s: float, factor: float
) -> None:
    level = spent_level(alpha, budget, interval_s)
    n = evaluations_per_day(interval_s)
    assert level <= alpha
    assert level * n <= budget * (1 + 1e-12)
    assert n >= SECONDS_PER_DAY / interval_s * (1 - 1e-9)
    # A time scale divides the interval and the day alike: the same budget per evaluation.
    scaled = spent_level(alpha, budget, interval_s / factor, SECONDS_PER_DAY / factor)
    assert scaled == pytest.approx(level, rel=1e-9)


def test_evaluations_per_day_of_common_intervals() -> None:
    assert evaluations_per_day(300.0) == 288
    assert evaluations_per_day(5.0, SECONDS_PER_DAY / 60) == 288
    assert evaluations_per_day(7 * SECONDS_PER_DAY) == 1


@pytest.mark.parametrize(
    ("alpha", "budget", "interval_s", "match"),
    [
        (0.0, 0.01, 300.0, "alpha"),
        (0.01, 1.0, 300.0, "alpha_per_day"),
        (0.01, math.nan, 300.0, "alpha_per_day"),
        (0.01, 0.01, 0.0, "interval_s"),
        (0.01, 0.01, math.inf, "interval_s"),
    ],
)
def test_impossible_inputs_are_refused_by_name(
    alpha: float, budget: float, interval_s: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        spent_level(alpha, budget, interval_s)
