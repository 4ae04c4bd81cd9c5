"""The ``rollout`` evaluator behind the built-in ``BadRollout`` rule: the rollout gate's verdict
(:mod:`edgewatch.server.gate`) for every version of a model but its established one, as one
finding per hardware class the version runs on.

A class the gate fails is active, with the failed signals and their evidence as the finding's
explanation; a class it passes is inactive; a class still waiting keeps its alert's state.
Sharing the gate keeps one definition of a bad rollout: the alert fires exactly when
``GET /api/v1/rollouts/{model}/{version}`` and ``edgewatch rollout wait`` say ``fail``.
"""

from __future__ import annotations

import math
from typing import cast

from edgewatch.detectors import (
    ClassVerdict,
    DriftResult,
    GateConfig,
    GateOutcome,
    SignalResult,
    Verdict,
)
from edgewatch.server.alert import Rule
from edgewatch.server.detect._context import Context, Window
from edgewatch.server.detect._members import Member
from edgewatch.server.gate import (
    HOUR_S,
    REFERENCE_PROFILE,
    ClassPlan,
    established_version,
    rollout_verdict,
)
from edgewatch.server.store import DeviceHour

HARDWARE_LABEL = "hardware"
"""The label that tells one hardware class's alert from another's."""

_VERDICTS = {
    GateOutcome.FAIL: Verdict.DRIFT,
    GateOutcome.PASS: Verdict.NO_DRIFT,
    GateOutcome.WAIT: Verdict.INSUFFICIENT_DATA,
}


def _hours(ctx: Context, model: str, window: Window, period_s: float) -> list[DeviceHour]:
    """The model's device-hours over the window, read once per tick for all its versions."""
    key = ("rollout_hours", model, window.start_s, window.end_s, period_s)
    if key not in ctx.memo:
        ctx.memo[key] = ctx.store.device_hours(
            model,
            window.start,
            window.end,
            period_s=period_s,
        )
    hours = cast(list[DeviceHour], ctx.memo[key])
    return hours


def _figure(s: SignalResult) -> str:
    """``latency 1.52x [1.31, 1.77]`` (ratios), or points for (estimated) accuracy and
    heartbeats."""
    if not math.isfinite(s.estimate):
        return f"{s.signal} n/a"
    if s.signal in ("accuracy", "estimated_accuracy", "heartbeats"):
        return f"{s.signal} {s.estimate:+.3f} [{s.lower:+.3f}, {s.upper:+.3f}]"
    return f"{s.signal} {s.estimate:.2f}x [{s.lower:.2f}, {s.upper:.2f}]"


def class_explanation(verdict: ClassVerdict, plan: ClassPlan, version: str) -> str:
    """One class's verdict in a sentence: failed signals with their always-valid intervals
    (how much worse the canary is), then the evidence it rests on."""
    against = "its profile" if plan.reference == REFERENCE_PROFILE else plan.reference
    failed = [s for s in verdict.signals if s.outcome is GateOutcome.FAIL]
    shown = failed or list(verdict.signals)
    head = {
        GateOutcome.FAIL: "failed",
        GateOutcome.PASS: "passed",
        GateOutcome.WAIT: "waiting",
    }[verdict.outcome]
    figures = "; ".join(_figure(s) for s in shown) or "no signal to compare"
    return (
        f"{version} on {verdict.hardware_class} {head} against {against}: {figures} "
        f"({plan.canary_devices} canary devices, {plan.canary_device_hours} device-hours; "
        f"{plan.reference_devices} reference devices)"
    )


def rollout_findings(
    ctx: Context, rule: Rule, member: Member, window: Window
) -> list[tuple[str | None, DriftResult]]:
    """``(hardware class, result)`` per class the version runs on; ``(None, result)`` for the
    established version, which the gate never judges (newer versions are judged against it)."""
    model, version = member.get("model"), member.get("version")
    if model is None or version is None:
        raise ValueError("rollout needs scope level version")
    period_s = float(rule.params.get("period_s", ctx.scale.seconds(HOUR_S)))
    hours = _hours(ctx, model, window, period_s)
    established = established_version(hours)
    if established is None or established == version:
        text = (
            f"version {version} is the model's established version (most device-hours in the "
            "window); newer versions are gated against it"
            if established == version
            else f"rollout: no device-hours of {model} in the window"
        )
        verdict = Verdict.NO_DRIFT if established == version else Verdict.INSUFFICIENT_DATA
        return [(None, DriftResult("rollout", 0.0, math.nan, verdict, text))]
    defaults = GateConfig()
    config = GateConfig(
        alpha=float(rule.params.get("alpha", defaults.alpha)),
        min_devices=int(rule.params.get("min_devices", defaults.min_devices)),
    )
    result = rollout_verdict(
        ctx.store,
        model,
        version,
        window.end,
        window_s=window.end_s - window.start_s,
        period_s=period_s,
        established=established,
        config=config,
        hours=hours,
    )
    plans = {p.hardware_class: p for p in result.plans}
    notes = {a.hardware_class: a.notes for a in result.accuracy}
    out: list[tuple[str | None, DriftResult]] = []
    for c in result.result.classes:
        text = class_explanation(c, plans[c.hardware_class], version)
        # Why estimated accuracy is absent or flagged (no calibration, covariate shift).
        text = "; ".join((text, *notes.get(c.hardware_class, ())))
        score = float(len(c.failed))
        out.append(
            (
                c.hardware_class,
                DriftResult("rollout", score, result.result.test_alpha, _VERDICTS[c.outcome], text),
            )
        )
    return out


__all__ = ["HARDWARE_LABEL", "class_explanation", "rollout_findings"]
