"""The rollout verdict of a model version from what the store holds: device-hours of the last
``window_s`` per hardware class, compared by the detectors' sequential gate.

One definition serves the REST endpoint, ``edgewatch rollout wait`` and the ``BadRollout``
alert rule, so the three never disagree about a rollout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from edgewatch.collector import semconv
from edgewatch.detectors import GateConfig, GateResult, evaluate_gate
from edgewatch.server.gate._estimated import ClassAccuracy, Histograms, add_estimated_accuracy
from edgewatch.server.gate._evidence import ClassPlan, build_evidence
from edgewatch.server.performance import version_calibration
from edgewatch.server.store import DeviceHour, Selection, StoreProtocol

HOUR_S = 3600.0
DEFAULT_WINDOW_S = 7 * 24 * HOUR_S
"""Evidence from the last week: a canary phase rarely runs longer, and older hours of the
established version describe a fleet that may have changed since."""


@dataclass(frozen=True, slots=True)
class RolloutVerdict:
    """The gate's result for one model version, with what each hardware class was compared to."""

    model_name: str
    model_version: str
    evaluated_at: datetime
    window_s: float
    result: GateResult
    plans: tuple[ClassPlan, ...]
    accuracy: tuple[ClassAccuracy, ...] = ()
    """The canary's accuracy per class (measured, or estimated without labels) and notes."""


def rollout_verdict(
    store: StoreProtocol,
    model_name: str,
    model_version: str,
    now: datetime,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    period_s: float = HOUR_S,
    established: str | None = None,
    config: GateConfig | None = None,
    hours: Sequence[DeviceHour] | None = None,
) -> RolloutVerdict:
    """Evaluate the gate for ``model_version`` of ``model_name`` as of ``now``.

    ``period_s`` is the evidence unit (an hour of the fleet's time); ``hours`` are the
    model's device-hours over the window when the caller has already read them."""
    start = now - timedelta(seconds=window_s)
    if hours is None:
        hours = store.device_hours(model_name, start, now, period_s=period_s)
    profiles = store.profiles.list(model_name)
    evidence, plans = build_evidence(hours, model_version, profiles, established)

    def histograms_of(version: str) -> Histograms:
        return store.histograms_by_period(
            semconv.PREDICTION_SCORE,
            start=min((h.hour for h in hours), default=start),
            end=now,
            period_s=period_s,
            selection=Selection(model_name=model_name, model_version=version),
        )

    evidence, accuracy = add_estimated_accuracy(
        evidence,
        plans,
        hours,
        model_version,
        lambda version: version_calibration(store, model_name, version),
        histograms_of,
    )
    result = evaluate_gate(evidence, config)
    return RolloutVerdict(model_name, model_version, now, window_s, result, tuple(plans), accuracy)
