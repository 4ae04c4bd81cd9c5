"""One evaluator per detector a rule may name: fetch the member's data for the window, run
the pure detector, return findings (one per feature for per-feature signals).

Every evaluator returns insufficient data rather than a verdict when the window is empty:
an offline device's missing windows are never read as zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from edgewatch.collector import semconv
from edgewatch.detectors import (
    DEFAULT_MIN_SAMPLES,
    DRIFT_METHODS,
    STREAMING_DETECTORS,
    CategoricalCounts,
    DriftResult,
    ExpHistogram,
    Verdict,
    count_increase,
    drift,
    drift_in_both,
    empty,
    from_values,
    get_streaming_detector,
    load_matched_rise,
    merge_all,
    merge_counts,
    missing_heartbeat,
    peer_outliers,
    quantile,
    quantile_regression,
    rate_drop,
    same_time_windows,
    screened_drift,
    seasonal_expected,
    trend,
)
from edgewatch.server.alert import Rule
from edgewatch.server.detect._context import (
    CATEGORY_KEY,
    CLASS_KEY,
    FEATURE_KEY,
    Context,
    Signal,
    Window,
    parse_signal,
)
from edgewatch.server.detect._members import Member
from edgewatch.server.detect._performance_evaluators import PERFORMANCE_EVALUATORS
from edgewatch.server.detect._profile import (
    CATEGORICAL,
    METRIC,
    NUMERIC,
    PREDICTION,
    PROFILE_BASELINE,
    SCORE,
    profile_latency,
)
from edgewatch.server.detect._rollout_eval import HARDWARE_LABEL, rollout_findings
from edgewatch.server.store import Device


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector result for a member (and feature), with the baseline it was judged against."""

    result: DriftResult
    feature: str | None = None
    baseline: float | None = None
    baseline_id: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels beyond the member's that tell this finding's alert apart (``hardware``)."""
    error: str | None = None
    """Why the member could not be evaluated (its result is then insufficient data)."""


Evaluator = Callable[[Context, Rule, Member, Window], list[Finding]]


def _insufficient(method: str, reason: str) -> DriftResult:
    return DriftResult(method, math.nan, math.nan, Verdict.INSUFFICIENT_DATA, f"{method}: {reason}")


def _params(rule: Rule, *drop: str) -> dict[str, Any]:
    return {k: v for k, v in rule.params.items() if k not in drop}


def _heartbeat(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    if member.device is None:
        raise ValueError("missing_heartbeat needs scope level device")
    interval = float(rule.params.get("export_interval_s", ctx.scale.minute_s))
    result = missing_heartbeat(
        member.device.last_seen.timestamp(),
        ctx.now_s,
        interval,
        missed_intervals=float(rule.params.get("missed_intervals", 3.0)),
    )
    return [Finding(result)]


def _clock_skew(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    if member.device is None:
        raise ValueError("clock_skew needs scope level device")
    skew = member.device.clock_skew_s
    if skew is None or member.device.last_seen.timestamp() < window.start_s:
        return [Finding(_insufficient("clock_skew", "no report in the window"))]
    limit = float(rule.params.get("max_skew_s", 120.0))
    off = abs(skew)
    verdict = Verdict.DRIFT if off > limit else Verdict.NO_DRIFT
    text = f"device timestamps are {skew:+.1f} s from the server's receive time"
    return [Finding(DriftResult("clock_skew", off, limit, verdict, text))]


Judge = Callable[[Any, Any], DriftResult]
"""Compares a baseline sample with the window's (histograms or category counts)."""


def _drift(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    params = _params(rule, "season", "seasons")
    method = str(params.pop("method", rule.detector))
    threshold = params.pop("threshold", None)
    min_samples = int(params.pop("min_samples", DEFAULT_MIN_SAMPLES))

    def judge(ref: Any, cur: Any) -> DriftResult:
        return drift(ref, cur, method, threshold, min_samples=min_samples)

    return _against_baseline(ctx, rule, member, window, judge, method)


def _drift_fdr(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    """Significance and effect size of each (member, feature) against the version's baseline;
    the scheduler then controls the false-discovery rate over the whole evaluation."""
    min_effect = float(rule.params.get("min_effect", 0.2))
    min_samples = int(rule.params.get("min_samples", DEFAULT_MIN_SAMPLES))

    def judge(ref: Any, cur: Any) -> DriftResult:
        return screened_drift(ref, cur, min_effect=min_effect, min_samples=min_samples)

    return _against_baseline(ctx, rule, member, window, judge, "drift_fdr")


Sample: TypeAlias = ExpHistogram | CategoricalCounts
Fetch: TypeAlias = Callable[[Window], Mapping[str | None, Sample]]
"""The member's data in a window, by feature (``None`` for a signal without features)."""


def _fetch(ctx: Context, rule: Rule, member: Member) -> Fetch:
    """How the rule's signal is read for the member: every feature in one query grouped by
    feature (a query per feature cost seconds per tick), else the one histogram or counts."""
    signal, _ = parse_signal(rule.signal)

    def fetch(w: Window) -> Mapping[str | None, Sample]:
        by_feature: dict[str | None, Sample] = {}
        if signal.metric == semconv.FEATURE_VALUE:
            by_feature.update(ctx.histograms(member, Signal(signal.metric), FEATURE_KEY, w))
            return by_feature
        if signal.metric == semconv.FEATURE_CATEGORY_COUNT:
            by_feature.update(ctx.counts_by(member, signal.metric, CATEGORY_KEY, FEATURE_KEY, w))
            return by_feature
        if signal.metric == semconv.PREDICTION_CLASS_COUNT:
            return {None: ctx.counts(member, signal.metric, CLASS_KEY, w)}
        return {None: ctx.histogram(member, signal, w)}

    return fetch


def _merged(samples: list[Sample], numeric: bool) -> Sample:
    if numeric:
        return merge_all([s for s in samples if isinstance(s, ExpHistogram)])
    return merge_counts(*(s for s in samples if isinstance(s, CategoricalCounts)))


def _first_seen(ctx: Context, member: Member) -> float:
    """When the first of the member's devices reported: no past window before it is read."""
    if member.device is not None:
        return member.device.first_seen.timestamp()
    sel = member.selection
    wanted = {
        "device_id": sel.device_id,
        "fleet": sel.fleet,
        "model_name": sel.model_name,
        "model_version": sel.model_version,
        "hardware": sel.hardware,
    }
    seen = [
        d.first_seen.timestamp()
        for d in ctx.devices
        if all(v is None or getattr(d, k) == v for k, v in wanted.items())
    ]
    return min(seen, default=-math.inf)


def _same_time(
    ctx: Context, rule: Rule, member: Member, window: Window, fetch: Fetch, numeric: bool
) -> tuple[Mapping[str | None, Sample], str] | None:
    """The member's own data at the window's time of day (``season: day``) or week over the
    past ``seasons`` periods since it first reported, pooled per feature, and those periods in
    words; None without ``season`` (or with ``season: none``)."""
    season = str(rule.params.get("season", "none"))
    if season == "none":
        return None
    period = ctx.scale.day_s if season == "day" else ctx.scale.week_s
    periods = int(rule.params.get("seasons", 7 if season == "day" else 4))
    first_seen = _first_seen(ctx, member)
    parts: dict[str | None, list[Sample]] = {}
    used = 0
    for start, end in same_time_windows(window.start_s, window.end_s, period, periods):
        if end <= first_seen:
            break
        used += 1
        for feature, sample in fetch(Window(start, end)).items():
            parts.setdefault(feature, []).append(sample)
    pooled = {f: _merged(samples, numeric) for f, samples in parts.items()}
    return pooled, f"{used} past {season}(s)"


def _against_baseline(
    ctx: Context, rule: Rule, member: Member, window: Window, judge_samples: Judge, method: str
) -> list[Finding]:
    """Each feature (or the one signal) against the version's baseline; with ``season``,
    drift must also be new against the member's own data at the same time of day."""
    signal, _ = parse_signal(rule.signal)
    numeric = signal.metric not in (
        semconv.FEATURE_CATEGORY_COUNT,
        semconv.PREDICTION_CLASS_COUNT,
    )
    if signal.metric in (semconv.FEATURE_VALUE, semconv.FEATURE_CATEGORY_COUNT):
        kind = NUMERIC if numeric else CATEGORICAL
        refs: dict[str | None, tuple[Sample, str] | None] = {
            f: ctx.reference(member, f, (kind,)) for f in ctx.features(member, signal.metric)
        }
        missing = f"no baseline with a {kind} profile of {{}}"
    else:
        if signal.metric == semconv.PREDICTION_CLASS_COUNT:
            ref = ctx.reference(member, "prediction", (PREDICTION,))
        else:
            ref = ctx.reference(member, signal.metric, (SCORE, METRIC))
            if ref is None and signal.metric == semconv.PREDICTION_SCORE:
                ref = ctx.reference(member, "score", (SCORE,))
        refs = {None: ref}
        missing = "no baseline"
    if all(ref is None for ref in refs.values()):  # then no query at all
        return [Finding(_insufficient(method, missing.format(repr(f))), f) for f in refs]
    fetch = _fetch(ctx, rule, member)
    current = fetch(window)
    history = _same_time(ctx, rule, member, window, fetch, numeric)
    nothing: Sample = empty() if numeric else CategoricalCounts({})
    findings = []
    for feature, ref in refs.items():
        if ref is None:
            findings.append(Finding(_insufficient(method, missing.format(repr(feature))), feature))
            continue
        cur = current.get(feature, nothing)
        result = judge_samples(ref[0], cur)
        if history is not None:
            past, how = history
            result = drift_in_both(result, judge_samples(past.get(feature, nothing), cur), how)
        findings.append(Finding(result, feature, None, ref[1]))
    return findings


def _reference_histogram(
    ctx: Context, rule: Rule, member: Member, window: Window, values: bool
) -> tuple[ExpHistogram, str | None]:
    """The pinned baseline's histogram of the signal; else, for a device that started on its
    version after the reference window began (no production history of that version yet),
    its hardware class's profile of the version (latency); else the preceding reference
    window, from the device's start on its version."""
    signal, _ = parse_signal(rule.signal)
    pinned = ctx.reference(member, signal.metric, (METRIC,))
    if pinned is not None and isinstance(pinned[0], ExpHistogram):
        return pinned[0], pinned[1]
    before = window.before(float(rule.params.get("reference_window_s", ctx.scale.day_s)))
    device = member.device
    since = None if device is None else ctx.version_since(device.device_id)
    if device is not None and since is not None and since > before.start_s:
        profiled = _profiled(ctx, device, signal.metric)
        if profiled is not None:
            return profiled
        if since >= before.end_s:
            return empty(), None  # nothing of this version before the window yet
        before = Window(since, before.end_s)
    if values:
        return from_values(ctx.series(member, signal, before, ctx.scale.minute_s)[1]), None
    return ctx.histogram(member, signal, before), None


def _profiled(ctx: Context, device: Device, metric: str) -> tuple[ExpHistogram, str] | None:
    """The per-run latency of the device's version as profiled on its hardware class."""
    if metric != semconv.INFERENCE_DURATION or not device.model_name or not device.model_version:
        return None
    profile = ctx.profile(device.model_name, device.model_version, device.hardware)
    histogram = None if profile is None else profile_latency(profile)
    if profile is None or histogram is None:
        return None
    return histogram, f"{PROFILE_BASELINE}{profile.model_version}@{profile.hardware_class}"


def _quantile(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    signal, _ = parse_signal(rule.signal)
    gauge = rule.params.get("values", "histogram") == "gauge"
    minute = ctx.scale.minute_s
    current = (
        from_values(ctx.series(member, signal, window.minutes(minute), minute)[1])
        if gauge
        else ctx.histogram(member, signal, window)
    )
    reference, baseline_id = _reference_histogram(ctx, rule, member, window, gauge)
    q = float(rule.params.get("q", 0.95))
    result = quantile_regression(
        reference, current, q, **_params(rule, "q", "reference_window_s", "values")
    )
    base = quantile(reference, q) if reference.count else None
    return [Finding(result, None, base, baseline_id)]


def _trend(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    signal, _ = parse_signal(rule.signal)
    step = max(ctx.scale.minute_s, window.length_s / 200.0)
    t, v = ctx.series(member, signal, window, step, "avg")
    return [Finding(trend(t, v, **_params(rule)))]


def _streaming(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    num, den = parse_signal(rule.signal)
    t, v = ctx.series(member, num, window, ctx.scale.minute_s, "sum")
    if den is not None:
        td, vd = ctx.series(member, den, window, ctx.scale.minute_s, "sum")
        totals = dict(zip(td.tolist(), vd.tolist(), strict=True))
        parts = dict(zip(t.tolist(), v.tolist(), strict=True))
        # Minutes with traffic and no matching numerator point had none of it (0 errors).
        t = np.asarray([x for x in sorted(totals) if totals[x] > 0])
        v = np.asarray([parts.get(x, 0.0) / totals[x] for x in t.tolist()])
    min_points = int(rule.params.get("min_points", 5))
    if t.size < min_points:
        return [Finding(_insufficient(rule.detector, f"{t.size} minutes with data"))]
    params = _params(rule, "min_points")
    if den is not None and "resolution" not in params:
        # A share of n per minute moves in steps of 1/n: one event in a median minute is
        # the resolution, so an error-free warm-up does not make one error 10⁹ σ.
        params["resolution"] = 1.0 / float(np.median([totals[x] for x in t.tolist()]))
    detector = get_streaming_detector(rule.detector, **params)
    fired = None
    for x in v.tolist():
        detector.update(float(x))
        if detector.drift_detected and fired is None:
            fired = detector.result()  # the detector restarts after a change; keep the evidence
    return [Finding(fired or detector.result())]


def _seasonal_count(
    ctx: Context, rule: Rule, member: Member, signal: Signal, window: Window
) -> tuple[float, str] | None:
    """The window's expected count from the same time of day (``season: day``) or week over
    past periods the member has data for; None when it has none (or ``season: none``)."""
    season = str(rule.params.get("season", "day"))
    if season == "none":
        return None
    period = ctx.scale.day_s if season == "day" else ctx.scale.week_s
    periods = int(rule.params.get("seasons", 7 if season == "day" else 4))
    first_seen = member.device.first_seen.timestamp() if member.device is not None else -math.inf
    past = []
    for start, end in same_time_windows(window.start_s, window.end_s, period, periods):
        if start < first_seen:
            break  # before the device reported: a partial window would look like a drop
        _, v = ctx.series(member, signal, Window(start, end), end - start, "sum")
        if v.size:
            past.append(float(v.sum()))
    if not past:
        return None
    return seasonal_expected(
        past
    ), f"median of the same time of {season} over {len(past)} past {season}(s)"


def _rate_drop(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    signal, _ = parse_signal(rule.signal)
    _, now_v = ctx.series(member, signal, window, window.length_s, "sum")
    seasonal = _seasonal_count(ctx, rule, member, signal, window)
    if seasonal is not None:
        expected, how = seasonal
    else:
        ref_len = float(rule.params.get("reference_window_s", ctx.scale.day_s))
        _, ref_v = ctx.series(member, signal, window.before(ref_len), ref_len, "sum")
        if ref_v.size == 0:
            return [Finding(_insufficient("rate_drop", "no traffic in the reference window"))]
        expected = float(ref_v.sum()) * window.length_s / ref_len
        how = f"flat rate of the preceding {ref_len:g} s"
    observed = round(float(now_v.sum()))
    result = rate_drop(
        observed, expected, **_params(rule, "reference_window_s", "season", "seasons")
    )
    result = replace(result, explanation=f"{result.explanation} (expected: {how})")
    return [Finding(result, None, expected)]


def _count_increase(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    """Events (the numerator of an ``a{k="v"}/a`` signal) per unit of exposure (the
    denominator) in the window against the preceding reference window. Both sides are
    queried the same way, so a bucket a query leaves out drops from count and exposure alike."""
    num, den = parse_signal(rule.signal)
    if den is None:
        raise ValueError("count_increase needs a ratio signal: events/exposure")
    ref = window.before(float(rule.params.get("reference_window_s", ctx.scale.day_s)))

    def total(signal: Signal, w: Window) -> float:
        return float(ctx.series(member, signal, w, w.length_s, "sum")[1].sum())

    ref_events, ref_exposure = total(num, ref), total(den, ref)
    result = count_increase(
        round(total(num, window)),
        total(den, window),
        round(ref_events),
        ref_exposure,
        **_params(rule, "reference_window_s"),
    )
    base = ref_events / ref_exposure if ref_exposure > 0 else None
    return [Finding(result, None, base)]


def _paired(
    ctx: Context, member: Member, value: Signal, load: Signal, window: Window
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-minute (load, value) pairs of the minutes that have both."""
    t, v = ctx.series(member, value, window, ctx.scale.minute_s, "avg")
    tl, vl = ctx.series(member, load, window, ctx.scale.minute_s, "sum")
    loads = dict(zip(tl.tolist(), vl.tolist(), strict=True))
    keep = [i for i, x in enumerate(t.tolist()) if x in loads]
    return np.asarray([loads[t[i]] for i in keep]), v[keep]


def _power_at_load(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    """The signal (power) per minute against the preceding reference window's minutes at the
    same load (``load_signal``, inferences per minute by default)."""
    value, _ = parse_signal(rule.signal)
    load, _ = parse_signal(str(rule.params.get("load_signal", semconv.INFERENCE_COUNT)))
    current = window.minutes(ctx.scale.minute_s)
    reference = current.before(float(rule.params.get("reference_window_s", ctx.scale.day_s)))
    ref_load, ref_value = _paired(ctx, member, value, load, reference)
    cur_load, cur_value = _paired(ctx, member, value, load, current)
    result = load_matched_rise(
        ref_load,
        ref_value,
        cur_load,
        cur_value,
        **_params(rule, "load_signal", "reference_window_s"),
    )
    base = float(np.median(ref_value)) if ref_value.size else None
    return [Finding(result, None, base)]


def _p95(ctx: Context, member: Member, window: Window, metric: str) -> float | None:
    key = ("p95", member.get("device"), metric, window)
    if key not in ctx.memo:
        h = ctx.histogram(member, parse_signal(metric)[0], window)
        ctx.memo[key] = quantile(h, 0.95) if h.count >= 30 else None
    value = cast(float | None, ctx.memo[key])
    return None if value is None else float(value)


def _peer(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    """The device's p95 among its peers: devices on the same model version and hardware."""
    if member.device is None:
        raise ValueError("peer_outlier needs scope level device")
    device = str(member.get("device"))
    values = {str(p.get("device")): _p95(ctx, p, window, rule.signal) for p in ctx.peers(member)}
    # a peer whose p95 is not finite (buckets at the floats' edge) cannot be compared
    known = {d: v for d, v in values.items() if v is not None and math.isfinite(v)}
    if device not in known:
        return [
            Finding(_insufficient("peer_outlier", "no finite p95 for the device in the window"))
        ]
    group = f"{member.get('version')} on {member.device.hardware or 'unknown hardware'}"
    groups = dict.fromkeys(known, group)
    result = peer_outliers(known, groups=groups, **_params(rule))[device]
    others = [v for d, v in known.items() if d != device]
    return [Finding(result, None, float(np.median(others)) if others else None)]


def _rollout(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    return [
        Finding(r, labels={} if hardware is None else {HARDWARE_LABEL: hardware})
        for hardware, r in rollout_findings(ctx, rule, member, window)
    ]


BASELINE_DETECTORS = frozenset((*DRIFT_METHODS, "auto", "drift_fdr"))
"""Drift detectors that compare a window with the baseline of the member's model version."""

EVALUATORS: Mapping[str, Evaluator] = {
    "missing_heartbeat": _heartbeat,
    "clock_skew": _clock_skew,
    "quantile_regression": _quantile,
    "trend": _trend,
    "rate_drop": _rate_drop,
    "count_increase": _count_increase,
    "load_matched_rise": _power_at_load,
    "peer_outlier": _peer,
    "rollout": _rollout,
    **{name: _drift for name in BASELINE_DETECTORS - {"drift_fdr"}},
    "drift_fdr": _drift_fdr,
    **{name: _streaming for name in STREAMING_DETECTORS},
    **PERFORMANCE_EVALUATORS,
}
"""Detector name in a rule → evaluator."""
