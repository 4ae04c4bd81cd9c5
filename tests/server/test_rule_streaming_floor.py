"""Issue #14 finding 6 for user-defined rules: a streaming detector over an error share
whose warm-up has no error at all. The evaluator gives the detector the share's resolution
(one error in a median minute), so a single error is a few σ and a burst is still a change.
The store is replaced by per-minute counts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from edgewatch.collector import semconv
from edgewatch.detectors import Verdict
from edgewatch.server.alert import ScopeLevel
from edgewatch.server.alert._config import Rule
from edgewatch.server.detect import REAL_TIME
from edgewatch.server.detect._context import Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS
from edgewatch.server.detect._members import Member
from edgewatch.server.store import Selection

MINUTES = 240
NOW = 1_700_000_000.0 // 60 * 60
SIGNAL = (
    f'{semconv.INFERENCE_COUNT}{{{semconv.OUTCOME}="{semconv.OUTCOME_ERROR}"}}'
    f"/{semconv.INFERENCE_COUNT}"
)


class PerMinute:
    """``Context.series``: 100 inferences a minute; ``errors`` in the last minutes."""

    scale = REAL_TIME

    def __init__(self, errors: list[int]) -> None:
        self.errors = errors

    def series(
        self, member: Member, signal: Signal, window: Window, step_s: float, agg: str | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        t = NOW - 60.0 * np.arange(MINUTES, 0, -1)
        if signal.attributes:
            errors = np.zeros(MINUTES)
            if self.errors:
                errors[-len(self.errors) :] = self.errors
            keep = errors > 0  # minutes without an error have no error point
            return t[keep], errors[keep]
        return t, np.full(MINUTES, 100.0)


def _verdict(detector: str, errors: list[int], **params: Any) -> Verdict:
    rule = Rule(name="Errors", detector=detector, signal=SIGNAL, threshold=None, params=params)
    device: Any = SimpleNamespace(first_seen=datetime.fromtimestamp(0.0, UTC))
    member = Member(ScopeLevel.DEVICE, (("device", "d"),), Selection(device_id="d"), device)
    ctx: Any = PerMinute(errors)
    (finding,) = EVALUATORS[detector](ctx, rule, member, Window(NOW - MINUTES * 60, NOW))
    return finding.result.verdict


@pytest.mark.parametrize("detector", ["page_hinkley", "cusum", "ewma"])
def test_one_error_after_an_error_free_warmup_is_no_change(detector: str) -> None:
    assert _verdict(detector, [1]) is Verdict.NO_DRIFT
    # A 5 % error share for five minutes is a change.
    assert _verdict(detector, [5] * 5) is Verdict.DRIFT


def test_an_explicit_tiny_resolution_restores_the_old_behaviour() -> None:
    assert _verdict("cusum", [1], resolution=0.0) is Verdict.DRIFT
