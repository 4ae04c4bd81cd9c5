"""The rollout evaluator: a newer model version against the model's established version,
like for like — per hardware class, and each device only from the moment it switched.

Versions compared on merged fleet latencies mix hardware: a version rolled out first to
Jetsons looks faster than one running mostly on Raspberry Pi 4s, whatever the model does. And
a device's stored history carries no version, so without the switch time the new version's
window holds the old version's data (see :mod:`._versions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from edgewatch.collector import semconv
from edgewatch.detectors import (
    CategoricalCounts,
    DriftResult,
    RolloutSignals,
    Verdict,
    compare_rollout,
    merge_all,
)
from edgewatch.server.alert import Rule, ScopeLevel
from edgewatch.server.detect._context import CLASS_KEY, Context, Signal, Window, parse_signal
from edgewatch.server.detect._members import Member, members
from edgewatch.server.store import Device

_SCORE = Signal(semconv.PREDICTION_SCORE)


def _device_window(ctx: Context, device: Device, window: Window) -> Window | None:
    since = ctx.versions_since(device.device_id)
    start = window.start_s if since is None else max(window.start_s, since)
    return Window(start, window.end_s) if start < window.end_s else None


def _signals(
    ctx: Context, devices: Sequence[Device], latency: Signal, window: Window
) -> RolloutSignals:
    """The devices' latency, predictions and confidence merged, each device read only over
    its part of the window on its current version."""
    lat, conf, preds = [], [], Counter[str]()
    for device in devices:
        w = _device_window(ctx, device, window)
        if w is None:
            continue
        (m,) = members(ScopeLevel.DEVICE, [device])
        lat.append(ctx.histogram(m, latency, w))
        conf.append(ctx.histogram(m, _SCORE, w))
        preds.update(ctx.counts(m, semconv.PREDICTION_CLASS_COUNT, CLASS_KEY, w).counts)
    return RolloutSignals(
        merge_all(lat), predictions=CategoricalCounts(dict(preds)), confidence=merge_all(conf)
    )


def _standing(ctx: Context, member: Member) -> tuple[int, int, str]:
    """How established a version is: its devices that were on it before the scheduler saw
    any switch, then all its devices. Not inferences in the window: at night a version whose
    devices sleep in one time zone would swap places with a rollout."""
    on = [
        d
        for d in ctx.devices
        if d.model_name == member.get("model") and d.model_version == member.get("version")
    ]
    settled = sum(1 for d in on if ctx.versions_since(d.device_id) is None)
    return settled, len(on), str(member.get("version"))


def _insufficient(reason: str) -> DriftResult:
    return DriftResult(
        "rollout", float("nan"), 1.0, Verdict.INSUFFICIENT_DATA, f"rollout: {reason}"
    )


def rollout(ctx: Context, rule: Rule, member: Member, window: Window) -> list[DriftResult]:
    """One result for the version ``member``: regressed when it regressed on any hardware
    class it shares with the established version; score = most signals regressed on one
    class."""
    model, version = member.get("model"), member.get("version")
    others = [m for m in ctx.versions(member) if m.get("version") != version]
    if not others:
        return [_insufficient("no other version of the model to compare")]
    latency = parse_signal(rule.signal)[0]
    established = max((member, *others), key=lambda m: _standing(ctx, m))
    if established is member:
        text = (
            f"version {version} is the model's established version (most devices not seen "
            "switching to it, then most devices); newer versions are compared with it"
        )
        return [DriftResult("rollout", 0.0, 1.0, Verdict.NO_DRIFT, text)]
    a_version = established.get("version")
    params = dict(rule.params)
    mine = [d for d in ctx.devices if d.model_name == model and d.model_version == version]
    parts, worst, verdicts = [], 0, []
    for hardware in sorted({d.hardware or "unknown" for d in mine}):
        b = [d for d in mine if (d.hardware or "unknown") == hardware]
        a = [
            d
            for d in ctx.devices
            if d.model_name == model
            and d.model_version == a_version
            and (d.hardware or "unknown") == hardware
        ]
        if not a:
            parts.append(f"{hardware}: no device on {a_version} to compare")
            continue
        result = compare_rollout(
            _signals(ctx, a, latency, window), _signals(ctx, b, latency, window), **params
        )
        judged = [r for r in result.signals.values() if r.verdict is not Verdict.INSUFFICIENT_DATA]
        if not judged:
            parts.append(f"{hardware}: insufficient data")
            continue
        verdicts.append(result.verdict)
        worst = max(worst, len(result.regressed_signals))
        parts.append(f"{hardware} ({len(b)} vs {len(a)} devices): {result.explanation}")
    text = f"against version {a_version}, per hardware class since each switch: " + " | ".join(
        parts
    )
    if not verdicts:
        return [_insufficient(text)]
    verdict = Verdict.DRIFT if Verdict.DRIFT in verdicts else Verdict.NO_DRIFT
    return [DriftResult("rollout", float(worst), 1.0, verdict, text)]
