"""Drift page: per-feature drift scores over time for a model / version / device selection,
the most drifted features, reference vs current distribution of one feature, and the shift
of prediction confidence and classes."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from edgewatch.contract import PREDICTIONS, RequestRejectedError
from edgewatch.contract import DriftRowOut as DriftResult
from edgewatch.contract import PredictionClassesOut as ClassCounts
from edgewatch.dashboard import _charts as charts
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._analysis import latest_per_feature
from edgewatch.dashboard._page import PageContext, optional, run_page
from edgewatch.dashboard._selection import ModelSelection, pick_model

FEATURE_VALUE = "ml.feature.value"
PREDICTION_SCORE = "ml.prediction.score"
MAX_CLASSES = 30


def _ranked(results: list[DriftResult]) -> None:
    st.subheader("Most drifted features")
    ranked = latest_per_feature(results)
    st.dataframe(
        pd.DataFrame(
            {
                "feature": [r.subject for r in ranked],
                "version": [f"{r.model or ''} {r.version or ''}".strip() for r in ranked],
                "verdict": [r.verdict.replace("_", " ") for r in ranked],
                "score": [fmt.number(r.score, 4) for r in ranked],
                "threshold": [fmt.number(r.threshold, 4) for r in ranked],
                "method": [r.method or "" for r in ranked],
                "scope": [r.scope + (f" {r.device}" if r.device else "") for r in ranked],
                "window end": [fmt.when(r.window_end) for r in ranked],
            }
        ),
        hide_index=True,
        key="drift_ranked",
    )


def _overlay(ctx: PageContext, sel: ModelSelection, features: list[str]) -> None:
    st.subheader("Reference vs current distribution")
    feature = st.selectbox("Feature", features, key="drift_feature")
    previous = f"previous {fmt.duration(round(ctx.range_s))}"
    window = dict(model=sel.model, version=sel.version, device=sel.device)
    current = ctx.client.distribution(FEATURE_VALUE, ctx.start, ctx.end, feature=feature, **window)
    reference = ctx.client.distribution(
        FEATURE_VALUE,
        ctx.start - timedelta(seconds=ctx.range_s),
        ctx.start,
        feature=feature,
        **window,
    )
    if current is None or not current.count:
        st.caption(f"No values of {feature} in this window.")
        return
    markers = {}
    baseline = _baseline_summary(ctx, sel, feature)
    if baseline is not None:
        markers = {f"baseline {k}": v for k, v in baseline.items() if v is not None}
    st.plotly_chart(
        charts.distribution_overlay(
            current.histogram,
            reference.histogram if reference is not None else None,
            reference_name=previous,
            markers=markers,
            unit=feature,
        ),
        key="drift_overlay",
    )
    has_reference = reference is not None and reference.count > 0
    st.caption(
        f"Current: {current.count} values, mean {fmt.number(current.mean)}. Reference: "
        + (
            f"the same selection over the {previous}"
            if has_reference
            else f"no values in the {previous}"
        )
        + ("; dashed lines: the baseline's p50 and p95." if markers else ".")
    )


def _baseline_summary(
    ctx: PageContext, sel: ModelSelection, feature: str
) -> dict[str, float | None] | None:
    baselines = optional(ctx.client.baselines) or []
    matching = [b for b in baselines if b.model == sel.model and (sel.version in (None, b.version))]
    if not matching:
        return None
    newest = max(matching, key=lambda b: b.created_at)
    for s in ctx.client.baseline(newest.id).summary or []:
        if s.feature == feature:
            return {"p50": s.p50, "p95": s.p95}
    return None


def _prediction_shift(ctx: PageContext, sel: ModelSelection) -> None:
    st.subheader("Prediction shift")
    window = dict(model=sel.model, version=sel.version, device=sel.device)
    earlier = ctx.start - timedelta(seconds=ctx.range_s)
    previous = f"previous {fmt.duration(round(ctx.range_s))}"
    current = ctx.client.distribution(PREDICTION_SCORE, ctx.start, ctx.end, **window)
    reference = ctx.client.distribution(PREDICTION_SCORE, earlier, ctx.start, **window)
    if current is not None and current.count:
        st.markdown("**Confidence**")
        st.plotly_chart(
            charts.distribution_overlay(
                current.histogram,
                reference.histogram if reference is not None else None,
                reference_name=previous,
                unit="prediction score",
            ),
            key="confidence_overlay",
        )
    st.markdown("**Predicted classes**")
    now = optional(lambda: ctx.client.prediction_classes(ctx.start, ctx.end, **window))
    if now is None:
        st.caption("This server does not list predicted classes (an older edgewatch version).")
        return
    before = ctx.client.prediction_classes(earlier, ctx.start, **window)
    classes = _shown_classes(now, before)
    if not classes:
        st.caption("No predicted classes reported for this selection yet.")
        return
    share_now, share_before = now.shares(classes), before.shares(classes)
    st.plotly_chart(
        charts.class_shift(classes, share_before, share_now, previous), key="class_shift"
    )
    st.dataframe(
        pd.DataFrame(
            {
                "class": list(classes),
                "share now": [fmt.percent(x) for x in share_now],
                f"share {previous}": [
                    fmt.percent(x) if before.total else "—" for x in share_before
                ],
                "change": [
                    f"{(a - b) * 100:+.1f} pp" if before.total else "—"
                    for a, b in zip(share_now, share_before, strict=True)
                ],
            }
        ),
        hide_index=True,
        key="class_shares",
    )
    hidden = len(set(now.labels) | set(before.labels)) - len(classes)
    st.caption(
        f"{now.total} predictions now, {before.total} in the {previous}; class labels as the "
        "devices report them." + (f" {hidden} rarer classes are not shown." if hidden > 0 else "")
    )


def _shown_classes(now: ClassCounts, before: ClassCounts) -> tuple[str, ...]:
    """The labels to chart, in the server's order: all of them, or the most predicted
    ``MAX_CLASSES`` over both periods when there are more (a bar chart of hundreds reads as
    noise)."""
    labels = tuple(dict.fromkeys([*now.labels, *before.labels]))
    if len(labels) <= MAX_CLASSES:
        return labels
    total = {c.label: c.count for c in now.classes}
    for c in before.classes:
        total[c.label] = total.get(c.label, 0) + c.count
    top = set(sorted(labels, key=lambda c: -total.get(c, 0))[:MAX_CLASSES])
    return tuple(c for c in labels if c in top)


def render(ctx: PageContext) -> None:
    devices = ctx.client.devices()
    sel = pick_model(devices, key="drift")
    if sel is None:
        st.info(
            "No model reported yet: drift is computed per model version once devices send "
            f"feature histograms to {ctx.client.server_url}/v1/metrics."
        )
        return
    results = ctx.client.drift(
        ctx.start, ctx.end, model=sel.model, version=sel.version, device=sel.device
    )
    features = sorted({r.subject for r in results})
    if not results:
        st.info(
            "No drift results for this selection in this window. The server judges drift "
            "against the model version's baseline every few minutes: check Settings → "
            "Baselines, or widen the time range."
        )
    else:
        drifting = {r.subject for r in latest_per_feature(results) if r.verdict == "drift"}
        st.metric("Features drifting now", f"{len(drifting)} of {len(features)}")
        st.subheader("Drift score per feature")
        st.plotly_chart(charts.drift_heatmap(results), key="drift_heatmap")
        _ranked(results)
        ranked = latest_per_feature(results)
        inputs = list(dict.fromkeys(r.subject for r in ranked if r.subject != PREDICTIONS))
        if inputs:
            _overlay(ctx, sel, inputs)
    _prediction_shift(ctx, sel)
    _evidently_report(ctx, sel)


def _evidently_report(ctx: PageContext, sel: ModelSelection) -> None:
    """Build the Evidently report of sampled rows on request; offer it as a download."""
    st.subheader("Evidently report of sampled rows")
    if sel.version is None:
        st.caption("Pick a model version to build its Evidently drift report.")
        return
    if not st.button("Build report", key="drift_report"):
        st.caption(
            "Compares the rows devices sampled in this window with the baseline's reference "
            "sample (sampling is opt-in on the device; see docs/reports.md)."
        )
        return
    try:
        with st.spinner("Evidently is building the report ..."):
            report = ctx.client.drift_report(
                ctx.start, ctx.end, model=sel.model, version=sel.version, device=sel.device
            )
    except RequestRejectedError as e:
        st.info(str(e))
        return
    st.caption(f"{report.current_rows} sampled rows vs {report.reference_rows} reference rows.")
    st.download_button(
        "Open report (HTML)",
        report.html,
        file_name=f"edgewatch-drift-{sel.model}-{sel.version}.html",
        mime="text/html",
        key="drift_report_download",
    )


run_page("Drift", render, alerting=True)
