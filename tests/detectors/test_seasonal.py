"""Seasonal expectations: the median of same-time counts (numpy's median as the oracle) over
windows shifted by whole periods."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detectors import (
    SECONDS_PER_DAY,
    DriftResult,
    Verdict,
    drift_in_both,
    same_time_windows,
    seasonal_expected,
)


@given(st.lists(st.floats(0, 1e7), min_size=1, max_size=30))
def test_expected_is_the_median(counts: list[float]) -> None:
    assert seasonal_expected(counts) == pytest.approx(float(np.median(counts)))


@given(st.lists(st.floats(0, 1e7), min_size=1, max_size=30), st.randoms())
def test_expected_ignores_order(counts: list[float], rnd: object) -> None:
    shuffled = list(counts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert seasonal_expected(shuffled) == seasonal_expected(counts)


def test_no_history_is_nan_and_bad_counts_raise() -> None:
    assert math.isnan(seasonal_expected([]))
    with pytest.raises(ValueError, match="finite counts"):
        seasonal_expected([1.0, -2.0])


@given(st.floats(0, 2e9), st.floats(60, 3600), st.integers(1, 14))
def test_windows_keep_the_time_of_day(start: float, length: float, periods: int) -> None:
    windows = same_time_windows(start, start + length, SECONDS_PER_DAY, periods)
    assert len(windows) == periods
    for k, (s, e) in enumerate(windows, start=1):
        assert e - s == pytest.approx(length)
        assert start - s == pytest.approx(k * SECONDS_PER_DAY)


def test_window_longer_than_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than the period"):
        same_time_windows(0.0, 2 * SECONDS_PER_DAY, SECONDS_PER_DAY, 1)


_VERDICTS = st.sampled_from(list(Verdict))


def _result(verdict: Verdict, p: float | None, score: float) -> DriftResult:
    return DriftResult("psi", score, 0.2, verdict, f"{verdict} {score}", p_value=p)


@given(
    _VERDICTS,
    _VERDICTS,
    st.none() | st.floats(0, 1),
    st.none() | st.floats(0, 1),
    st.floats(0, 5),
    st.floats(0, 5),
)
def test_drift_in_both_is_the_intersection_union_test(
    vb: Verdict, vs: Verdict, pb: float | None, ps: float | None, sb: float, ss: float
) -> None:
    b, s = _result(vb, pb, sb), _result(vs, ps, ss)
    out = drift_in_both(b, s, "7 past days")
    if vb is Verdict.INSUFFICIENT_DATA:
        assert out == b
    elif vs is Verdict.INSUFFICIENT_DATA:
        assert (out.verdict, out.p_value, out.score) == (vb, pb, sb)
        assert "baseline alone" in out.explanation
    else:
        both = vb is Verdict.DRIFT and vs is Verdict.DRIFT
        assert out.verdict is (Verdict.DRIFT if both else Verdict.NO_DRIFT)
        ps_known = [p for p in (pb, ps) if p is not None]
        assert out.p_value == (max(ps_known) if ps_known else None)
        # The score shown is the binding comparison's: the baseline's unless only it drifts.
        assert out.score == (ss if vb is Verdict.DRIFT and not both else sb)
