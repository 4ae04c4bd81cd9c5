"""Result types every detector returns: a verdict plus the evidence a human reads in an alert.

Frozen and slotted so results can cross threads and layers (scheduler → alert rules → API)
without anyone mutating them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_MIN_SAMPLES = 30
"""Fewer observations than this on either side → insufficient data (every two-sample test)."""


class Verdict(enum.StrEnum):
    """Outcome of one detector run; ``INSUFFICIENT_DATA`` is never treated as drift."""

    DRIFT = "drift"
    NO_DRIFT = "no_drift"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class DriftResult:
    """Outcome of a drift statistic, change detector or degradation test.

    ``score`` is compared with ``threshold`` (for p-value methods the p-value is the score and
    drift means ``score < threshold`` and ``statistic`` holds the test statistic: KS D, χ², z);
    ``binning_error`` bounds how far the score computed on
    histograms can be from the same statistic on the raw values (``None`` when not derived).
    """

    method: str
    score: float
    threshold: float
    verdict: Verdict
    explanation: str
    p_value: float | None = None
    statistic: float | None = None
    reference_count: int = 0
    current_count: int = 0
    binning_error: float | None = None

    @property
    def drift_detected(self) -> bool:
        """True when the verdict is drift (never for insufficient data)."""
        return self.verdict is Verdict.DRIFT


@dataclass(frozen=True, slots=True)
class DatasetDriftResult:
    """Dataset-level verdict: drift when the share of drifted features reaches ``share_threshold``."""

    verdict: Verdict
    drifted_share: float
    share_threshold: float
    features: Mapping[str, DriftResult] = field(default_factory=dict)
    explanation: str = ""

    @property
    def drifted_features(self) -> list[str]:
        """Names of the features whose verdict is drift, in input order."""
        return [name for name, r in self.features.items() if r.verdict is Verdict.DRIFT]


@dataclass(frozen=True, slots=True)
class RolloutResult:
    """Version B against version A: one verdict with the per-signal evidence behind it."""

    verdict: Verdict
    signals: Mapping[str, DriftResult]
    explanation: str

    @property
    def regressed_signals(self) -> list[str]:
        """Names of the signals that regressed (verdict drift)."""
        return [name for name, r in self.signals.items() if r.verdict is Verdict.DRIFT]


def insufficient(
    method: str, threshold: float, reason: str, *, reference_count: int = 0, current_count: int = 0
) -> DriftResult:
    """A result saying the inputs were too small to judge; the score is NaN."""
    return DriftResult(
        method=method,
        score=math.nan,
        threshold=threshold,
        verdict=Verdict.INSUFFICIENT_DATA,
        explanation=f"{method}: insufficient data ({reason})",
        reference_count=reference_count,
        current_count=current_count,
    )


def fmt(x: float) -> str:
    """Compact human formatting for numbers in explanations."""
    if math.isnan(x):
        return "nan"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.3g}"
    return f"{x:.4g}"
