"""Peer outliers need an effect beside the robust z: near-identical peers make a tiny MAD."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.detectors import Verdict, peer_outliers


def test_a_one_percent_difference_among_near_identical_peers_is_not_an_outlier() -> None:
    values = {f"d{i}": 0.0200 + i * 1e-6 for i in range(8)} | {"x": 0.0202}
    assert peer_outliers(values)["x"].verdict is Verdict.DRIFT  # z alone: huge
    assert peer_outliers(values, min_relative=0.25)["x"].verdict is Verdict.NO_DRIFT


@given(st.floats(0.0, 1.0), st.floats(0.001, 10.0))
def test_min_relative_only_removes_verdicts(min_relative: float, outlier: float) -> None:
    values = {f"d{i}": 1.0 + 0.01 * i for i in range(8)} | {"x": outlier}
    plain = peer_outliers(values)
    floored = peer_outliers(values, min_relative=min_relative)
    for device, result in floored.items():
        assert result.score == plain[device].score
        if result.verdict is Verdict.DRIFT:
            assert plain[device].verdict is Verdict.DRIFT


def test_bad_min_relative_is_refused() -> None:
    with pytest.raises(ValueError, match="min_relative"):
        peer_outliers({"a": 1.0, "b": 1.0, "c": 1.0}, min_relative=-1)
