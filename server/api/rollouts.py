"""``/api/v1/rollouts/{model}/{version}``: the rollout gate's verdict for a canary version,
per hardware class and overall, with the evidence behind it."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request

from edgewatch.contract import GateClassOut, GateSignalOut, RolloutVerdictOut, utc_now
from edgewatch.detectors import GateConfig, SignalResult
from edgewatch.server.api.bounds import MAX_DEVICES, MAX_SPAN_S
from edgewatch.server.api.deps import AdminDep, StoreDep
from edgewatch.server.gate import DEFAULT_WINDOW_S, HOUR_S, RolloutVerdict, rollout_verdict

router = APIRouter(prefix="/api/v1/rollouts", tags=["rollouts"])


def _number(x: float) -> float | None:
    """JSON has no infinities or NaN: an unbounded side of an interval is null."""
    return x if math.isfinite(x) else None


def _signal(s: SignalResult) -> GateSignalOut:
    return GateSignalOut(
        signal=s.signal,
        verdict=s.outcome.value,
        estimate=_number(s.estimate),
        lower=_number(s.lower),
        upper=_number(s.upper),
        canary_device_hours=s.canary_device_hours,
        reference_device_hours=s.reference_device_hours,
        detail=s.detail,
    )


def verdict_view(v: RolloutVerdict) -> RolloutVerdictOut:
    """The verdict: overall, failed signals, and each hardware class's evidence."""
    plans = {p.hardware_class: p for p in v.plans}
    accuracy = {a.hardware_class: a for a in v.accuracy}
    return RolloutVerdictOut(
        model=v.model_name,
        version=v.model_version,
        verdict=v.result.outcome.value,
        failed=v.result.failed,
        evaluated_at=v.evaluated_at,
        window_s=v.window_s,
        alpha=v.result.alpha,
        test_alpha=v.result.test_alpha,
        method="mixture SPRT confidence sequences per hardware class and signal "
        "(always valid under repeated checks; false-fail rate at most alpha)",
        hardware_classes=[
            GateClassOut(
                hardware_class=c.hardware_class,
                verdict=c.outcome.value,
                compared_with=plans[c.hardware_class].reference,
                canary_devices=c.canary_devices,
                canary_device_hours=plans[c.hardware_class].canary_device_hours,
                reference_devices=plans[c.hardware_class].reference_devices,
                signals=[_signal(s) for s in c.signals],
                fleet_accuracy=a.value if (a := accuracy.get(c.hardware_class)) else None,
                accuracy_source=a.source if a else None,
                notes=list(a.notes) if a else [],
            )
            for c in v.result.classes
        ],
    )


@router.get(
    "/{model}/{version}",
    response_model=RolloutVerdictOut,
    summary="Rollout gate verdict: pass, fail or wait",
)
def get_rollout(
    request: Request,
    _: AdminDep,
    store: StoreDep,
    model: str,
    version: str,
    established: Annotated[
        str | None, Query(description="version to compare with (default: the most seen)")
    ] = None,
    window_s: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_SPAN_S,
            allow_inf_nan=False,
            description="evidence window, seconds (default: a week of the fleet's time)",
        ),
    ] = None,
    min_devices: Annotated[
        int, Query(ge=1, le=MAX_DEVICES, description="canary devices to pass a class")
    ] = 2,
    alpha: Annotated[
        float, Query(gt=0, lt=1, allow_inf_nan=False, description="overall false-fail rate")
    ] = 0.05,
) -> RolloutVerdictOut:
    """Evaluate the gate now over the last ``window_s`` of device-hours. On a server whose
    rules run at a time scale (the demo's compressed fleet), an hour and the default week are
    of the fleet's time, as for the ``BadRollout`` rule."""
    scale = float(getattr(request.app.state, "rule_time_scale", 1.0))
    config = GateConfig(alpha=alpha, min_devices=min_devices)
    verdict = rollout_verdict(
        store,
        model,
        version,
        utc_now(),
        window_s=DEFAULT_WINDOW_S / scale if window_s is None else window_s,
        period_s=HOUR_S / scale,
        established=established,
        config=config,
    )
    return verdict_view(verdict)
