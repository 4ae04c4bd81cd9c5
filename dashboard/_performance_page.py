"""Performance page: is the model still right? Realized accuracy from late labels beside the
accuracy estimated from scores, over time per version, per device, the confusion matrix and the
labelled share."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from edgewatch.contract import PerformanceOut as Performance
from edgewatch.contract import PerformanceRowOut as PerformanceRow
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._page import PageContext, run_page
from edgewatch.dashboard._selection import models_of, versions_of

ALL = "all versions"
Interval = tuple[float | None, float | None, float | None]


def realized(r: PerformanceRow) -> Interval:
    """Accuracy from the labels with its 95 % interval (``None`` without labels)."""
    x = r.realized
    return (None, None, None) if x is None else (x.accuracy, x.accuracy_low, x.accuracy_high)


def estimated(r: PerformanceRow) -> Interval:
    """Accuracy estimated from the scores with its 95 % interval (``None`` uncalibrated)."""
    x = r.estimated
    return (None, None, None) if x is None else (x.accuracy, x.low, x.high)


def _band(fig: go.Figure, rows: list[PerformanceRow], name: str, from_scores: bool) -> None:
    """One line with its 95 % interval as a shaded band."""
    x = [r.start for r in rows]
    intervals = [estimated(r) if from_scores else realized(r) for r in rows]
    mid = [i[0] for i in intervals]
    low = [i[1] for i in intervals]
    high = [i[2] for i in intervals]
    if all(v is None for v in mid):
        return
    fig.add_scatter(x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, name=name)
    fig.add_scatter(
        x=x, y=low, mode="lines", line={"width": 0}, fill="tonexty", opacity=0.2,
        showlegend=False, name=name,
    )  # fmt: skip
    dash = "dash" if from_scores else "solid"
    fig.add_scatter(x=x, y=mid, mode="lines+markers", line={"dash": dash}, name=name)


def _over_time(ctx: PageContext, perf: dict[str, Performance]) -> None:
    fig = go.Figure()
    for version, p in perf.items():
        rows = list(p.series)
        _band(fig, rows, f"{version} realized", from_scores=False)
        _band(fig, rows, f"{version} estimated", from_scores=True)
    fig.update_layout(
        yaxis={"title": "accuracy", "tickformat": ".0%"},
        xaxis={"range": [ctx.start, ctx.end]},
        height=360,
        margin={"t": 10, "b": 10},
    )
    st.plotly_chart(fig, key="performance_over_time")


def _table(rows: list[PerformanceRow], key: str, by: str) -> None:
    if not rows:
        return
    st.dataframe(
        pd.DataFrame(
            {
                by: [(r.device_id if by == "device" else r.model_version) or "-" for r in rows],
                "inferences": [r.inferences for r in rows],
                "labelled": [r.labelled for r in rows],
                "coverage": [fmt.percent(r.coverage, 1) for r in rows],
                "accuracy": [fmt.percent(realized(r)[0], 1) for r in rows],
                "95 % interval": [
                    f"{fmt.percent(realized(r)[1], 1)} – {fmt.percent(realized(r)[2], 1)}"
                    if realized(r)[0] is not None
                    else "-"
                    for r in rows
                ],
                "macro-F1": [fmt.number(r.realized.macro_f1 if r.realized else None) for r in rows],
                "estimated": [fmt.percent(estimated(r)[0], 1) for r in rows],
                "estimate reliable": [
                    "-"
                    if r.estimated is None
                    else ("yes" if r.estimated.reliable else "no (drift)")
                    for r in rows
                ],
                "MAE": [fmt.number(r.realized.mae if r.realized else None) for r in rows],
                "RMSE": [fmt.number(r.realized.rmse if r.realized else None) for r in rows],
            }
        ),
        hide_index=True,
        key=key,
    )


def _confusion(p: Performance) -> None:
    if not p.labels:
        st.caption("No labelled predictions in this window.")
        return
    fig = go.Figure(
        go.Heatmap(
            z=[list(r) for r in p.confusion],
            x=list(p.labels),
            y=list(p.labels),
            colorscale="Blues",
            texttemplate="%{z}",
        )
    )
    fig.update_layout(
        xaxis={"title": "true class"},
        yaxis={"title": "predicted class", "autorange": "reversed"},
        height=420,
        margin={"t": 10, "b": 10},
    )
    st.plotly_chart(fig, key="performance_confusion")


def render(ctx: PageContext) -> None:
    devices = ctx.client.devices()
    models = models_of(devices)
    if not models:
        st.info("No model reported yet: performance appears once devices send predictions.")
        return
    c1, c2 = st.columns(2)
    model = c1.selectbox("Model", models, key="performance_model")
    versions = versions_of(devices, model)
    choice = c2.selectbox("Version", [ALL, *versions], key="performance_version")
    chosen = versions if choice == ALL else [choice]
    step = max(ctx.step_s, ctx.range_s / 48)
    per_version = {
        v: ctx.client.performance(ctx.start, ctx.end, step_s=step, model=model, version=v)
        for v in chosen
    }
    whole = ctx.client.performance(
        ctx.start, ctx.end, step_s=step, model=model, version=None if choice == ALL else choice
    )
    t = whole.total
    accuracy, low, high = realized(t)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Realized accuracy", fmt.percent(accuracy, 1))
    m2.metric("Estimated accuracy", fmt.percent(estimated(t)[0], 1))
    m3.metric("Labelled", f"{t.labelled:,} of {t.inferences:,}")
    m4.metric("Coverage", fmt.percent(t.coverage, 1))
    if accuracy is not None and low is not None and high is not None:
        st.caption(
            f"Realized accuracy 95 % interval: {fmt.percent(low, 1)} – "
            f"{fmt.percent(high, 1)} from {t.labelled:,} labels."
        )
    if t.estimated is not None and not t.estimated.reliable:
        st.warning("Input drift is large in this window: the estimated accuracy is unreliable.")
    missing = [v for v in chosen if v not in whole.calibrated_versions]
    if missing:
        st.caption(
            f"No calibration for {', '.join(missing)}: upload a baseline with prediction, score "
            "and label columns to estimate accuracy without labels."
        )
    st.subheader("Realized (solid) and estimated (dashed) accuracy over time")
    _over_time(ctx, per_version)
    left, right = st.columns(2)
    with left:
        st.subheader("Confusion matrix")
        _confusion(whole)
    with right:
        st.subheader("Per version")
        _table(whole.versions, "performance_versions", "version")
    st.subheader("Per device")
    _table(whole.devices, "performance_devices", "device")


run_page("Performance", render)
