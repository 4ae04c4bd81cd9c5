"""Rollout comparison: model version B against version A on latency quantiles, energy per
inference, prediction distribution and confidence → one verdict with per-signal evidence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from edgewatch.detectors._categorical import CategoricalCounts
from edgewatch.detectors._degradation import quantile_regression
from edgewatch.detectors._drift import drift
from edgewatch.detectors._histogram import ExpHistogram
from edgewatch.detectors._result import (
    DEFAULT_MIN_SAMPLES,
    DriftResult,
    RolloutResult,
    Verdict,
    fmt,
    insufficient,
)


@dataclass(frozen=True, slots=True)
class RolloutSignals:
    """What one model version produced over the comparison window (None = not measured)."""

    latency_s: ExpHistogram
    energy_j: ExpHistogram | None = None
    predictions: CategoricalCounts | None = None
    confidence: ExpHistogram | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.latency_s, ExpHistogram):
            raise ValueError(
                f"latency_s must be an ExpHistogram, got {type(self.latency_s).__name__}"
            )
        for name in ("energy_j", "confidence"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, ExpHistogram):
                raise ValueError(
                    f"{name} must be an ExpHistogram or None, got {type(value).__name__}"
                )
        if self.predictions is not None and not isinstance(self.predictions, CategoricalCounts):
            raise ValueError(
                f"predictions must be CategoricalCounts or None, got {type(self.predictions).__name__}"
            )


def _mean_change(
    name: str,
    a: ExpHistogram,
    b: ExpHistogram,
    *,
    worse_if_higher: bool,
    min_change: float,
    relative: bool,
    min_samples: int,
) -> DriftResult:
    if min(a.count, b.count) < min_samples:
        return insufficient(
            name,
            min_change,
            f"fewer than min_samples={min_samples} values",
            reference_count=a.count,
            current_count=b.count,
        )
    change = b.mean - a.mean
    if relative:
        change = change / abs(a.mean) if a.mean != 0 else (math.inf if change else 0.0)
    worse = change if worse_if_higher else -change
    drifted = worse > min_change
    unit = " %" if relative else ""
    shown = change * 100 if relative else change
    limit = min_change * 100 if relative else min_change
    return DriftResult(
        method=name,
        score=worse,
        threshold=min_change,
        verdict=Verdict.DRIFT if drifted else Verdict.NO_DRIFT,
        explanation=(
            f"{name}: mean {fmt(a.mean)} → {fmt(b.mean)} ({'+' if shown >= 0 else ''}{fmt(shown)}{unit}); "
            f"regression when worse by more than {fmt(limit)}{unit} → {'regressed' if drifted else 'no regression'}"
        ),
        reference_count=a.count,
        current_count=b.count,
    )


def compare_rollout(
    a: RolloutSignals,
    b: RolloutSignals,
    *,
    latency_quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    latency_min_relative: float = 0.1,
    latency_min_absolute_s: float = 0.001,
    energy_min_relative: float = 0.1,
    confidence_min_drop: float = 0.05,
    prediction_method: str = "auto",
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> RolloutResult:
    """Is version ``b`` worse than version ``a``? Regressed when any signal regressed;
    insufficient data when no signal could be judged.

    Signals: ``latency_p50``… (quantile regression), ``energy_per_inference`` (mean energy,
    relative rise), ``predictions`` (drift of the class distribution, ``drift(method=...)``),
    ``confidence`` (mean confidence drop, absolute). Example:
    ``compare_rollout(RolloutSignals(lat_a), RolloutSignals(lat_b)).verdict``.
    """
    if not latency_quantiles:
        raise ValueError("latency_quantiles must not be empty")
    signals: dict[str, DriftResult] = {}
    for q in latency_quantiles:
        signals[f"latency_p{q * 100:g}"] = quantile_regression(
            a.latency_s,
            b.latency_s,
            q,
            min_relative=latency_min_relative,
            min_absolute=latency_min_absolute_s,
            min_samples=min_samples,
        )
    if a.energy_j is not None and b.energy_j is not None:
        signals["energy_per_inference"] = _mean_change(
            "energy_per_inference",
            a.energy_j,
            b.energy_j,
            worse_if_higher=True,
            min_change=energy_min_relative,
            relative=True,
            min_samples=min_samples,
        )
    if a.predictions is not None and b.predictions is not None:
        signals["predictions"] = drift(
            a.predictions, b.predictions, prediction_method, min_samples=min_samples
        )
    if a.confidence is not None and b.confidence is not None:
        signals["confidence"] = _mean_change(
            "confidence",
            a.confidence,
            b.confidence,
            worse_if_higher=False,
            min_change=confidence_min_drop,
            relative=False,
            min_samples=min_samples,
        )
    regressed = [n for n, r in signals.items() if r.verdict is Verdict.DRIFT]
    judged = [n for n, r in signals.items() if r.verdict is not Verdict.INSUFFICIENT_DATA]
    if regressed:
        verdict = Verdict.DRIFT
        summary = f"version B regressed on {', '.join(regressed)}"
    elif judged:
        verdict = Verdict.NO_DRIFT
        summary = f"version B is no worse on {len(judged)} judged signals"
    else:
        verdict = Verdict.INSUFFICIENT_DATA
        summary = "insufficient data on every signal"
    details = "; ".join(r.explanation for n, r in signals.items() if n in regressed)
    return RolloutResult(verdict, signals, summary + (f": {details}" if details else ""))
