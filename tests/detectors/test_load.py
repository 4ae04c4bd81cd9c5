"""Power judged at comparable load (issue #14 findings 3 and 7): a quiet night is compared
with nights, a real rise is found, and the sign test matches scipy's binomial test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from edgewatch.detectors import Verdict, load_matched_rise

RNG = np.random.default_rng(7)


def _day(n: int = 1440) -> tuple[np.ndarray, np.ndarray]:
    """Inferences per minute (day 600, night 60) and watts = 4 idle + 0.01 per inference."""
    minute = np.arange(n)
    load = np.where((minute % 1440) // 60 % 24 >= 6, 600.0, 60.0) * RNG.uniform(0.8, 1.2, n)
    watts = 4.0 + 0.01 * load + RNG.normal(0, 0.2, n)
    return load, watts


def test_a_quiet_night_is_compared_with_nights() -> None:
    ref_load, ref_watts = _day()
    night_load = 60.0 * RNG.uniform(0.8, 1.2, 30)
    night_watts = 4.0 + 0.01 * night_load + RNG.normal(0, 0.2, 30)
    result = load_matched_rise(ref_load, ref_watts, night_load, night_watts)
    assert result.verdict is Verdict.NO_DRIFT and abs(result.score) < 0.05
    # Energy per inference (watts ÷ inferences) at night is ~4.6x the day's: what paged before.
    assert np.median(night_watts / night_load) > 3 * np.median(ref_watts / ref_load)


def test_a_power_rise_of_40_percent_is_found_by_day_and_by_night() -> None:
    ref_load, ref_watts = _day()
    for level in (600.0, 60.0):
        load = level * RNG.uniform(0.8, 1.2, 30)
        watts = 1.4 * (4.0 + 0.01 * load) + RNG.normal(0, 0.2, 30)
        result = load_matched_rise(ref_load, ref_watts, load, watts)
        assert result.verdict is Verdict.DRIFT and result.score == pytest.approx(0.4, abs=0.08)


def test_a_load_the_reference_never_saw_is_not_judged() -> None:
    ref_load, ref_watts = _day()
    burst = np.full(30, 5000.0)
    result = load_matched_rise(ref_load, ref_watts, burst, 4.0 + 0.01 * burst)
    assert result.verdict is Verdict.INSUFFICIENT_DATA


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.5, 2.0), min_size=10, max_size=60))
def test_p_value_is_the_one_sided_sign_test(ratios: list[float]) -> None:
    ref_load = np.tile(np.arange(1.0, 11.0), 10)
    ref_values = np.ones_like(ref_load)
    load = np.linspace(1.0, 10.0, len(ratios))
    result = load_matched_rise(ref_load, ref_values, load, np.asarray(ratios), bands=1)
    above = sum(r > 1.0 for r in ratios)
    oracle = stats.binomtest(above, len(ratios), 0.5, alternative="greater").pvalue
    assert result.p_value == pytest.approx(oracle, rel=1e-9)
    assert result.score == pytest.approx(float(np.median(ratios)) - 1.0)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="pair up"):
        load_matched_rise([1.0, 2.0], [1.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="bands"):
        load_matched_rise([1.0], [1.0], [1.0], [1.0], bands=0)
