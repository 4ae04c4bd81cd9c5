"""Version A against version B of one model over a window (``/api/v1/versions/compare``),\nfrom the detectors' rollout signals."""

from __future__ import annotations

import math
from datetime import datetime

from edgewatch.collector import semconv
from edgewatch.contract import (
    CompareVerdict,
    SignalCompareOut,
    VersionAccuracyOut,
    VersionCompareOut,
)
from edgewatch.detectors import RolloutSignals, Verdict, compare_rollout, quantile
from edgewatch.server.alert import ScopeLevel
from edgewatch.server.detect import CLASS_KEY, Context, Member, Signal, Window
from edgewatch.server.performance import version_accuracy
from edgewatch.server.store import Selection, StoreProtocol


def _member(model: str, version: str) -> Member:
    return Member(
        ScopeLevel.VERSION,
        (("model", model), ("version", version)),
        Selection(model_name=model, model_version=version),
    )


def _signals(ctx: Context, member: Member, window: Window) -> RolloutSignals:
    return RolloutSignals(
        ctx.histogram(member, Signal(semconv.INFERENCE_DURATION), window),
        predictions=ctx.counts(member, semconv.PREDICTION_CLASS_COUNT, CLASS_KEY, window),
        confidence=ctx.histogram(member, Signal(semconv.PREDICTION_SCORE), window),
    )


def _number(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _value(name: str, sig: RolloutSignals) -> float | None:
    """What a signal measured for one version: a latency quantile or the mean confidence."""
    if name.startswith("latency_p") and sig.latency_s.count:
        return _number(quantile(sig.latency_s, float(name.removeprefix("latency_p")) / 100))
    if name == "confidence" and sig.confidence is not None and sig.confidence.count:
        return _number(sig.confidence.mean)
    return None


def compare_versions(
    store: StoreProtocol, *, model: str, a: str, b: str, start: datetime, end: datetime
) -> VersionCompareOut:
    """``b_worse`` when any signal of B regressed against A, ``b_better`` when A regressed
    against B and B did not, else ``no_difference``; insufficient data when nothing could be
    judged."""
    ctx = Context(store, end.timestamp(), ())
    window = Window(start.timestamp(), end.timestamp())
    sig_a = _signals(ctx, _member(model, a), window)
    sig_b = _signals(ctx, _member(model, b), window)
    forward = compare_rollout(sig_a, sig_b)
    backward = compare_rollout(sig_b, sig_a)
    verdict: CompareVerdict
    if forward.verdict is Verdict.INSUFFICIENT_DATA:
        verdict = "insufficient_data"
    elif forward.verdict is Verdict.DRIFT:
        verdict = "b_worse"
    elif backward.verdict is Verdict.DRIFT:
        verdict = "b_better"
    else:
        verdict = "no_difference"
    signals = []
    for name, result in forward.signals.items():
        back = backward.signals.get(name)
        word: CompareVerdict
        if result.verdict is Verdict.DRIFT:
            word = "b_worse"
        elif back is not None and back.verdict is Verdict.DRIFT and name != "predictions":
            word = "b_better"
        elif result.verdict is Verdict.INSUFFICIENT_DATA:
            word = "insufficient_data"
        else:
            word = "no_difference"
        signals.append(
            SignalCompareOut(
                signal=name,
                a=_value(name, sig_a),
                b=_value(name, sig_b),
                change=_number(result.score),
                verdict=word,
                explanation=result.explanation,
            )
        )

    def accuracy(version: str) -> VersionAccuracyOut:
        return VersionAccuracyOut.model_validate(
            version_accuracy(store, model, version, start=window.start, end=window.end)
        )

    return VersionCompareOut(
        verdict=verdict, signals=signals, accuracy={"a": accuracy(a), "b": accuracy(b)}
    )
