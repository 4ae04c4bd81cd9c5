"""Versions page: every newer version against the current one per hardware class (profiles and
the rollout gate), then two versions compared in depth (latency, power and energy, confidence,
error rate, prediction classes) with the server's verdict: continue or roll back."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import DistributionOut as Distribution
from edgewatch.contract import VersionCompareOut as VersionComparison
from edgewatch.contract import VersionSummaryOut as VersionSummary
from edgewatch.dashboard import _charts as charts
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._analysis import accuracy_rows, reporting_s
from edgewatch.dashboard._page import NO_ALERTING, PageContext, optional, run_page
from edgewatch.dashboard._selection import models_of, versions_of
from edgewatch.dashboard._versions_gate import headline, table, version_gate

DURATION = "ml.inference.duration"
SCORE = "ml.prediction.score"
ENERGY = "ml.inference.energy"
POWER = "hw.power"

VERDICTS = {
    "b_worse": ("error", "{b} measured worse than {a}."),
    "b_better": ("success", "{b} measured better than {a}."),
    "no_difference": ("info", "No significant difference between {a} and {b}."),
    "insufficient_data": ("warning", "Not enough data yet to compare {b} with {a}."),
}
"""The window comparison's words: what the two versions measured over the chosen window. The
decision to continue or roll back is the rollout gate's, shown per hardware class above."""


def _measured(signal: str, x: float | None) -> str:
    """A compared signal's value with its unit."""
    if signal.startswith("latency"):
        return fmt.seconds(x)
    if signal.startswith("energy"):
        return fmt.joules(x)
    if signal.startswith("power"):
        return fmt.watts(x)
    if signal.startswith("error"):
        return fmt.percent(x, 2)
    return fmt.number(x)


def _change(signal: str, change: float | None) -> str:
    """Relative change for measured signals; the distance itself for distributions."""
    if signal == "predictions":
        return f"distance {fmt.number(change)}"
    return fmt.percent(change)


def _verdict(comparison: VersionComparison, a: str, b: str) -> None:
    kind, text = VERDICTS[comparison.verdict]
    getattr(st, kind)(f"In this window: {text.format(a=a, b=b)}")
    if comparison.signals:
        st.dataframe(
            pd.DataFrame(
                {
                    "signal": [s.signal for s in comparison.signals],
                    a: [_measured(s.signal, s.a) for s in comparison.signals],
                    b: [_measured(s.signal, s.b) for s in comparison.signals],
                    "change": [_change(s.signal, s.change) for s in comparison.signals],
                    "verdict": [s.verdict.replace("_", " ") for s in comparison.signals],
                    "explanation": [s.explanation or "" for s in comparison.signals],
                }
            ),
            hide_index=True,
            key="compare_signals",
        )
    accuracy = accuracy_rows(comparison, a, b)
    if accuracy is None:
        st.caption("Accuracy: no late labels and no calibrated estimate for these versions yet.")
    else:
        st.markdown("**Accuracy** (95 % intervals)")
        st.dataframe(accuracy, hide_index=True, key="compare_accuracy")


def _per_hardware_class(ctx: PageContext, model: str, a: str, versions: list[str]) -> None:
    """Each other version against ``a`` on every hardware class: profile ratios beside the
    rollout gate's verdict and the latency the fleet measured."""
    st.subheader(f"Rollout verdict per hardware class, against {a}")

    for v in versions:
        if v == a:
            continue
        gate = optional(partial(version_gate, ctx.client, model, v, a))
        if gate is None:
            st.warning(NO_ALERTING.format(what=f"/api/v1/rollouts/{model}/{v}"))
            continue
        st.markdown(headline(gate))
        st.dataframe(pd.DataFrame(table(gate)), hide_index=True, key=f"versions_gate_{v}")
    st.caption(
        "profile: ratio of the versions' on-device profiles (edgewatch profile); fleet latency: "
        "the gate's estimate from device-hours over the same hours; gate: pass / fail / wait "
        "(docs/rollouts.md)."
    )


def _reporting(ctx: PageContext, devices: list[Device], model: str, version: str) -> float:
    """How long the devices running ``model`` ``version`` have reported within the window."""
    mine = [d for d in devices if d.model_name == model and d.model_version == version]
    return reporting_s(mine, start=ctx.start, end=ctx.end)


def _mean(values: tuple[float, ...]) -> float | None:
    return sum(values) / len(values) if values else None


def _side_by_side(
    ctx: PageContext,
    model: str,
    versions: tuple[str, str],
    summaries: dict[str, VersionSummary],
    devices: list[Device],
) -> dict[str, Distribution | None]:
    rows: dict[str, list[str]] = {"": []}
    scores: dict[str, Distribution | None] = {}
    for v in versions:
        latency = ctx.client.distribution(DURATION, ctx.start, ctx.end, model=model, version=v)
        scores[v] = ctx.client.distribution(SCORE, ctx.start, ctx.end, model=model, version=v)
        energy = ctx.client.series(
            ENERGY, ctx.start, ctx.end, step_s=ctx.step_s, model=model, version=v
        )
        power = ctx.client.series(
            POWER, ctx.start, ctx.end, step_s=ctx.step_s, model=model, version=v
        )
        s = summaries.get(v)
        q = latency.quantiles if latency is not None else {}
        score = scores[v]
        rows[v] = [
            str(s.devices if s else 0),
            fmt.seconds(q.get("p50")),
            fmt.seconds(q.get("p95")),
            fmt.seconds(q.get("p99")),
            fmt.rate(s.inferences / _reporting(ctx, devices, model, v) if s else None),
            fmt.percent(s.error_rate if s else None, 2),
            fmt.watts(_mean(power.values)),
            fmt.joules(_mean(energy.values)),
            fmt.number(score.mean if score is not None else None),
        ]
    rows[""] = [
        "devices",
        "latency p50",
        "latency p95",
        "latency p99",
        "inference rate",
        "error rate",
        "power (mean)",
        "energy / inference",
        "mean confidence",
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="versions_side_by_side")
    return scores


def render(ctx: PageContext) -> None:
    devices = ctx.client.devices()
    models = models_of(devices)
    if not models:
        st.info(
            "No model reported yet: versions appear once devices send their "
            f"ml.model.name and ml.model.version to {ctx.client.server_url}/v1/metrics."
        )
        return
    c1, c2, c3 = st.columns(3)
    asked_model = st.query_params.get("model")
    model = c1.selectbox(
        "Model",
        models,
        index=models.index(asked_model) if asked_model in models else 0,
        key="versions_model",
    )
    versions = versions_of(devices, model)
    # An alert's link (?model=&version=) opens its version as B against the oldest other one,
    # also once no device runs it any more (a rolled-back version's BadRollout).
    asked = st.query_params.get("version")
    gone = asked if asked and asked_model == model and asked not in versions else None
    if gone:
        versions = sorted([*versions, gone])
    if len(versions) < 2:
        st.info(
            f"Only one version of {model} is running ({', '.join(versions)}): roll out a "
            "second version to compare them."
        )
        return
    b_index = versions.index(asked) if asked in versions else len(versions) - 1
    a_index = 1 if b_index == 0 else 0
    a = c2.selectbox("Version A (current)", versions, index=a_index, key="versions_a")
    b = c3.selectbox("Version B (new)", versions, index=b_index, key="versions_b")
    if gone:
        st.info(
            f"No device runs {model} {gone} now (rolled back or replaced): its rollout verdict "
            "and measurements are those of the hours devices ran it."
        )
    _per_hardware_class(ctx, model, a, versions)
    if a == b:
        st.warning("Pick two different versions.")
        return
    comparison = optional(lambda: ctx.client.compare_versions(model, a, b, ctx.start, ctx.end))
    if comparison is None:
        st.warning(NO_ALERTING.format(what="/api/v1/versions/compare"))
    else:
        _verdict(comparison, a, b)
    summary = ctx.client.fleet_summary(ctx.start, ctx.end)
    summaries = {
        v.model_version: v
        for v in summary.versions
        if v.model_name == model and v.model_version is not None
    }
    st.subheader(f"{model} {a} vs {b}, last {fmt.duration(round(ctx.range_s))}")
    scores = _side_by_side(ctx, model, (a, b), summaries, devices)
    lines = {
        f"{v} p95": ctx.client.series(
            DURATION, ctx.start, ctx.end, step_s=ctx.step_s, model=model, version=v, agg="p95"
        )
        for v in (a, b)
    }
    left, right = st.columns(2)
    with left:
        st.markdown("**p95 latency over time**")
        st.plotly_chart(
            charts.time_chart(lines, unit="ms", scale=1e3, start=ctx.start, end=ctx.end),
            key="versions_latency",
        )
    with right:
        st.markdown("**Confidence distribution**")
        sa, sb = scores[a], scores[b]
        if sb is not None and sb.count:
            st.plotly_chart(
                charts.distribution_overlay(
                    sb.histogram,
                    sa.histogram if sa is not None else None,
                    reference_name=a,
                    unit="prediction score",
                ).update_traces(selector={"name": "current"}, name=b),
                key="versions_confidence",
            )
        else:
            st.caption(f"No prediction scores from {b} in this window.")


run_page("Versions", render)
