"""Plotly figures for the pages. Colours come from the Streamlit theme (light or dark) except
where a colour carries meaning (severity, offline shading), which reads on both."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import plotly.graph_objects as go

from edgewatch.contract import DriftRowOut as DriftResult
from edgewatch.contract import HistogramOut as Histogram
from edgewatch.contract import SeriesOut as Series
from edgewatch.dashboard._analysis import OFFLINE_AFTER_S

SEVERITY_COLOURS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
STATUS_COLOURS = {"online": "#2ca02c", "stale": "#ff7f0e", "offline": "#7f7f7f"}
GAP_FILL = "rgba(127, 127, 127, 0.22)"


@dataclass(frozen=True, slots=True)
class Marker:
    """A labelled moment on a time axis (an alert firing or resolving)."""

    at: datetime
    text: str
    severity: str


def _layout(fig: go.Figure, *, y_title: str, height: int = 260) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis_title=y_title,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        hovermode="x unified",
    )
    return fig


def _broken(s: Series, scale: float) -> tuple[list[datetime | None], list[float | None]]:
    """The series' points scaled, with a break wherever more than three buckets (and at
    least three minutes) are missing, so a line never bridges a span without data."""
    limit_s = max(3 * s.step_s, OFFLINE_AFTER_S)
    x: list[datetime | None] = []
    y: list[float | None] = []
    for i, (t, v) in enumerate(zip(s.times, s.values, strict=True)):
        if i and (t - s.times[i - 1]).total_seconds() > limit_s:
            x.append(None)
            y.append(None)
        x.append(t)
        y.append(v * scale)
    return x, y


def data_extent(
    lines: Mapping[str, Series],
    *,
    start: datetime,
    end: datetime,
    gaps: Sequence[tuple[datetime, datetime]] = (),
    markers: Sequence[Marker] = (),
) -> tuple[datetime, datetime]:
    """The span the chart's data covers within ``[start, end]``: its points, shaded gaps and
    markers, widened by one bucket either side. A fleet that started five minutes ago then
    fills the chart instead of a corner of the hour; with no data, the whole window."""
    moments = [t for s in lines.values() for t in (s.times[:1] + s.times[-1:])]
    moments += [t for g in gaps for t in g] + [mk.at for mk in markers]
    inside = [t for t in moments if start <= t <= end]
    if not inside:
        return start, end
    pad = timedelta(seconds=max((s.step_s for s in lines.values()), default=60.0))
    return max(start, min(inside) - pad), min(end, max(inside) + pad)


def time_chart(
    lines: Mapping[str, Series],
    *,
    unit: str,
    scale: float = 1.0,
    start: datetime,
    end: datetime,
    gaps: Sequence[tuple[datetime, datetime]] = (),
    markers: Sequence[Marker] = (),
) -> go.Figure:
    """Lines over the part of the window that holds data, values multiplied by ``scale`` and
    labelled with ``unit``; offline gaps shaded, alert markers as vertical lines."""
    fig = go.Figure()
    for name, s in lines.items():
        x, y = _broken(s, scale)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                mode="lines+markers" if len(s.times) < 30 else "lines",
                hovertemplate=f"%{{y:.4g}} {unit}<extra>{name}</extra>",
                connectgaps=False,
            )
        )
    for g_start, g_end in gaps:
        fig.add_vrect(x0=g_start, x1=g_end, fillcolor=GAP_FILL, line_width=0, layer="below")
    if gaps:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "symbol": "square", "color": GAP_FILL},
                name="offline",
            )
        )
    for mk in markers:
        fig.add_vline(
            x=mk.at.timestamp() * 1000,
            line_dash="dot",
            line_color=SEVERITY_COLOURS.get(mk.severity, "#9467bd"),
            annotation_text=mk.text,
            annotation_position="top left",
            annotation_font_size=10,
        )
    fig.update_xaxes(
        range=list(data_extent(lines, start=start, end=end, gaps=gaps, markers=markers))
    )
    return _layout(fig, y_title=unit)


def version_share(labels: Sequence[str], devices: Sequence[int]) -> go.Figure:
    """Share of devices per model version (donut)."""
    fig = go.Figure(
        go.Pie(
            labels=list(labels),
            values=list(devices),
            hole=0.5,
            textinfo="label+percent",
            hovertemplate="%{label}: %{value} devices (%{percent})<extra></extra>",
        )
    )
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False)
    return fig


def drift_heatmap(results: Sequence[DriftResult]) -> go.Figure:
    """Drift score per feature (rows; per version when several) and window end (columns);
    where devices of one version were judged apart, the cell shows the highest score."""
    windows = sorted({r.window_end for r in results})
    several = len({(r.model, r.version) for r in results}) > 1

    def label(r: DriftResult) -> str:
        return f"{r.subject} · {r.version}" if several else r.subject

    features = sorted({label(r) for r in results})
    col = {w: i for i, w in enumerate(windows)}
    row = {f: i for i, f in enumerate(features)}
    z: list[list[float | None]] = [[None] * len(windows) for _ in features]
    for r in results:
        cell = z[row[label(r)]][col[r.window_end]]
        if r.score is not None and (cell is None or r.score > cell):
            z[row[label(r)]][col[r.window_end]] = r.score
    fig = go.Figure(
        go.Heatmap(
            x=windows,
            y=features,
            z=z,
            colorscale="YlOrRd",
            colorbar={"title": "score"},
            hovertemplate="%{y} at %{x}: %{z:.3f}<extra></extra>",
        )
    )
    return _layout(fig, y_title="feature", height=max(260, 22 * len(features) + 80))


def _bounds(histograms: Sequence[Histogram], tail: float = 0.005) -> tuple[float, float]:
    """The range holding all but ``tail`` of each end of every histogram's values."""
    lows: list[float] = []
    highs: list[float] = []
    for h in histograms:
        buckets = h.buckets()
        total = sum(c for _, _, c in buckets)
        seen = 0
        for lo, hi, c in buckets:
            if seen <= tail * total < seen + c:
                lows.append(lo)
            seen += c
            if seen >= (1 - tail) * total:
                highs.append(hi)
                break
    return min(lows), max(highs)


def _rebinned(h: Histogram, edges: Sequence[float]) -> list[float]:
    """Share of ``h``'s values per unit width in each equal-width bin between ``edges``,
    spreading each exponential bucket over the bins it overlaps (the zero bucket at 0)."""
    out = [0.0] * (len(edges) - 1)
    for lo, hi, c in h.buckets():
        if hi <= lo:
            i = bisect_right(edges, lo) - 1
            if 0 <= i < len(out):
                out[i] += c
            continue
        for i in range(len(out)):
            overlap = min(hi, edges[i + 1]) - max(lo, edges[i])
            if overlap > 0:
                out[i] += c * overlap / (hi - lo)
    scale = max(h.count, 1) * (edges[1] - edges[0])
    return [x / scale for x in out]


def distribution_overlay(
    current: Histogram,
    reference: Histogram | None,
    *,
    reference_name: str,
    markers: Mapping[str, float] | None = None,
    unit: str = "",
    bins: int = 60,
) -> go.Figure:
    """Current vs reference distribution as densities on the same equal-width bins."""
    shown = [
        (n, h) for n, h in ((reference_name, reference), ("current", current)) if h and h.count
    ]
    fig = go.Figure()
    if shown:
        lo, hi = _bounds([h for _, h in shown])
        width = (hi - lo) / bins or 1.0
        edges = [lo + i * width for i in range(bins + 1)]
        mids = [lo + (i + 0.5) * width for i in range(bins)]
        for name, h in shown:
            fig.add_trace(
                go.Bar(x=mids, y=_rebinned(h, edges), width=width, name=name, opacity=0.55)
            )
    for label, at in (markers or {}).items():
        fig.add_vline(x=at, line_dash="dash", annotation_text=label, annotation_font_size=10)
    fig.update_layout(barmode="overlay", xaxis_title=unit or "value")
    return _layout(fig, y_title="density")


def class_shift(
    classes: Sequence[str], reference: Sequence[float], current: Sequence[float], ref_name: str
) -> go.Figure:
    """Share of predictions per class, reference next to current."""
    fig = go.Figure(
        [
            go.Bar(x=list(classes), y=[v * 100 for v in reference], name=ref_name),
            go.Bar(x=list(classes), y=[v * 100 for v in current], name="current"),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(fig, y_title="% of predictions")


def severity_bars(counts: Mapping[str, int]) -> go.Figure:
    """Firing alerts per severity."""
    names = list(counts)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[counts[n] for n in names],
            marker_color=[SEVERITY_COLOURS.get(n, "#9467bd") for n in names],
            hovertemplate="%{x}: %{y} firing<extra></extra>",
        )
    )
    return _layout(fig, y_title="alerts", height=220)
