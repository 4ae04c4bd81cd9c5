"""Ranking the devices and cohorts that explain a version's drift."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detectors import rank_cohorts

HARDWARE = ["jetson", "rpi5", "rpi4", "nuc"]


def _cohorts(n: int) -> dict[str, dict[str, str]]:
    return {f"d{i}": {"hardware": HARDWARE[i % 4], "fleet": f"site-{i % 3}"} for i in range(n)}


def test_one_drifted_device_explains_everything_and_ranks_first() -> None:
    scores = {f"d{i}": 0.0 for i in range(30)} | {"d7": 0.8}
    top = rank_cohorts(scores, _cohorts(30), floor=0.0)[0]
    assert (top.dimension, top.value, top.share, top.lift) == ("device", "d7", 1.0, 30.0)


def test_a_bad_hardware_batch_ranks_as_its_cohort() -> None:
    scores = {f"d{i}": (0.6 if i % 4 == 2 else 0.0) for i in range(32)}
    top = rank_cohorts(scores, _cohorts(32), floor=0.0)[0]
    assert (top.dimension, top.value, top.drifted, top.devices) == ("hardware", "rpi4", 8, 8)
    assert top.share == pytest.approx(1.0) and top.lift == pytest.approx(4.0)


@given(st.lists(st.floats(0, 5), min_size=1, max_size=40), st.floats(0, 1))
def test_device_shares_sum_to_one(values: list[float], floor: float) -> None:
    scores = {f"d{i}": v for i, v in enumerate(values)}
    ranked = rank_cohorts(scores, _cohorts(len(values)), floor=floor)
    devices = [c for c in ranked if c.dimension == "device"]
    if any(v > floor for v in values):
        assert sum(c.share for c in devices) == pytest.approx(1.0)
        assert [c.share for c in ranked] == sorted((c.share for c in ranked), reverse=True)
    else:
        assert ranked == []
