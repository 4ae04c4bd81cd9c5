"""Fleet page: what is firing now (each alert leading to its evidence and its device or
version), device liveness, model versions and their share, fleet latency, throughput, errors
and energy, and a device table that links to each device."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from urllib.parse import quote

import pandas as pd
import streamlit as st

from edgewatch.contract import DEVICE_STATUSES, SEVERITIES
from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import FleetSummaryOut as FleetSummary
from edgewatch.contract import VersionSummaryOut as VersionSummary
from edgewatch.dashboard import _alert_links as links
from edgewatch.dashboard import _charts as charts
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._analysis import reporting_s
from edgewatch.dashboard._page import PageContext, optional, run_page

INFERENCE_DURATION = "ml.inference.duration"
INFERENCE_ENERGY = "ml.inference.energy"
DEVICE_PAGE = "_device_page.py"


def _empty_state(server_url: str) -> None:
    st.info(
        "No devices yet: run `edgewatch demo` or point a collector at "
        f"{server_url}/v1/metrics (OTLP/HTTP) with a device token."
    )


def _status_row(devices: list[Device]) -> None:
    counts = Counter(d.status for d in devices)
    cols = st.columns(4)
    cols[0].metric("Devices", len(devices))
    for col, status in zip(cols[1:], DEVICE_STATUSES, strict=True):
        col.metric(status.capitalize(), counts.get(status, 0))


def _totals(summary: FleetSummary, reporting: float) -> tuple[float, float | None]:
    """Fleet inference rate (/s over ``reporting`` seconds) and error rate (errors /
    inferences)."""
    inferences = sum(v.inferences for v in summary.versions)
    errors = sum((v.error_rate or 0.0) * v.inferences for v in summary.versions)
    return inferences / reporting, (errors / inferences if inferences else None)


def _about(seconds: float) -> str:
    """A length of time rounded for reading: whole hours from 2 h, whole minutes below."""
    unit = 3600.0 if seconds >= 7200 else 60.0
    return fmt.duration(max(round(seconds / unit), 1) * unit)


def _reporting(ctx: PageContext, devices: list[Device], version: VersionSummary) -> float:
    """How long the devices of ``version`` have reported within the window."""
    mine = [
        d
        for d in devices
        if d.model_name == version.model_name and d.model_version == version.model_version
    ]
    return reporting_s(mine, start=ctx.start, end=ctx.end)


def _performance(ctx: PageContext, summary: FleetSummary, devices: list[Device]) -> None:
    st.subheader("Fleet performance")
    latency = ctx.client.distribution(INFERENCE_DURATION, ctx.start, ctx.end)
    energy = ctx.client.series(INFERENCE_ENERGY, ctx.start, ctx.end, step_s=ctx.step_s, agg="avg")
    reporting = reporting_s(devices, start=ctx.start, end=ctx.end)
    rate, error_rate = _totals(summary, reporting)
    quantiles = latency.quantiles if latency is not None else {}
    cols = st.columns(6)
    cols[0].metric("Latency p50", fmt.seconds(quantiles.get("p50")))
    cols[1].metric("Latency p95", fmt.seconds(quantiles.get("p95")))
    cols[2].metric("Latency p99", fmt.seconds(quantiles.get("p99")))
    cols[3].metric("Inference rate", fmt.rate(rate))
    cols[4].metric("Error rate", fmt.percent(error_rate, 2))
    energy_mean = sum(energy.values) / len(energy.values) if energy.values else None
    cols[5].metric(
        "Energy / inference",
        fmt.joules(energy_mean),
        help="mean of the devices' reported energy per inference; devices without a power "
        "sensor report none",
    )
    if reporting < ctx.range_s:
        st.caption(
            f"Over the last {fmt.duration(round(ctx.range_s))}; rates over the "
            f"{_about(reporting)} the devices have reported."
        )
    else:
        st.caption(f"Over the last {fmt.duration(round(ctx.range_s))}.")
    lines = {
        q: ctx.client.series(INFERENCE_DURATION, ctx.start, ctx.end, step_s=ctx.step_s, agg=q)
        for q in ("p50", "p95", "p99")
    }
    if any(s.values for s in lines.values()):
        st.plotly_chart(
            charts.time_chart(lines, unit="ms", scale=1e3, start=ctx.start, end=ctx.end),
            key="fleet_latency",
        )
    left_out = {*(latency.left_out_devices if latency is not None else ())}
    left_out.update(d for s in lines.values() for d in s.left_out_devices)
    if left_out:
        st.caption(_left_out_note(sorted(left_out)))


def _left_out_note(devices: list[str]) -> str:
    """Which devices the latency leaves out for sending it as a gauge or counter."""
    named = ", ".join(devices[:5]) + (f" and {len(devices) - 5} more" if len(devices) > 5 else "")
    return (
        f"Latency leaves out {named}: sending {INFERENCE_DURATION} as a gauge or counter,"
        " not a histogram."
    )


def _versions(ctx: PageContext, summary: FleetSummary, devices: list[Device]) -> None:
    st.subheader("Model versions")
    versions = [v for v in summary.versions if v.devices]
    if not versions:
        st.caption("No model version reported yet.")
        return
    total = sum(v.devices for v in versions)
    left, right = st.columns([1, 2])
    left.plotly_chart(
        charts.version_share([v.label for v in versions], [v.devices for v in versions]),
        key="version_share",
    )
    right.dataframe(
        pd.DataFrame(
            {
                "model": [v.model_name or "—" for v in versions],
                "version": [v.model_version or "—" for v in versions],
                "devices": [v.devices for v in versions],
                "share": [fmt.percent(v.devices / total) for v in versions],
                "online": [v.online for v in versions],
                "stale": [v.stale for v in versions],
                "offline": [v.offline for v in versions],
                "inferences/s": [
                    fmt.rate(v.inferences / _reporting(ctx, devices, v)) for v in versions
                ],
                "error rate": [fmt.percent(v.error_rate, 2) for v in versions],
                "p95 latency": [fmt.seconds(v.latency_s.get("p95")) for v in versions],
            }
        ),
        hide_index=True,
        key="versions_table",
    )


def _firing_now(ctx: PageContext) -> None:
    """What is firing now, most urgent first, each leading to its evidence and its device or
    model version: the first thing on-call needs on opening the dashboard."""
    st.subheader("Firing now")
    firing = optional(lambda: ctx.client.alerts(state="firing", limit=1000))
    if firing is None:
        st.caption(
            "No alerts to show: this server has no alerting (an older version, or alerting switched off)."
        )
        return
    counts = Counter(a.severity for a in firing)
    cols = st.columns(3)
    for col, severity in zip(cols, SEVERITIES, strict=True):
        col.metric(severity.capitalize(), counts.get(severity, 0))
    if not firing:
        st.success("Nothing firing.")
        return
    ordered = links.by_urgency(firing)
    st.dataframe(
        links.firing_frame(ordered),
        hide_index=True,
        key="firing_table",
        column_config=links.link_columns(),
    )
    names = {a.fingerprint: f"{a.severity} · {links.alert_name(a)} · {a.summary}" for a in ordered}
    left, right = st.columns([3, 1])
    pick = left.selectbox(
        "Open alert", list(names), format_func=names.__getitem__, key="open_alert"
    )
    right.page_link(
        links.ALERTS_PAGE,
        label="Its evidence",
        icon=":material/notifications_active:",
        query_params={"alert": pick},
    )
    st.page_link(
        links.ALERTS_PAGE,
        label=f"All {len(firing)} firing alerts",
        icon=":material/notifications_active:",
    )


def _device_table(devices: list[Device]) -> None:
    st.subheader("Devices")
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    statuses = c1.multiselect("Status", DEVICE_STATUSES, default=list(DEVICE_STATUSES))
    versions = sorted({f"{d.model_name or '—'} {d.model_version or '—'}" for d in devices})
    chosen = c2.multiselect("Model version", versions, default=versions)
    fleets = sorted({d.fleet or "—" for d in devices})
    chosen_fleets = c3.multiselect("Fleet", fleets, default=fleets)
    search = c4.text_input("Search device id or hardware", "")
    needle = search.strip().lower()
    shown = [
        d
        for d in devices
        if d.status in statuses
        and f"{d.model_name or '—'} {d.model_version or '—'}" in chosen
        and (d.fleet or "—") in chosen_fleets
        and (not needle or needle in d.device_id.lower() or needle in (d.hardware or "").lower())
    ]
    sort_by = st.selectbox(
        "Sort by", ("status", "device", "last seen", "model version"), key="device_sort"
    )
    order = {s: i for i, s in enumerate(DEVICE_STATUSES)}
    keys: dict[str, Callable[[Device], tuple[float, str]]] = {
        "status": lambda d: (-order[d.status], d.device_id),
        "device": lambda d: (0.0, d.device_id),
        "last seen": lambda d: (-d.last_seen.timestamp(), d.device_id),
        "model version": lambda d: (0.0, f"{d.model_name} {d.model_version} {d.device_id}"),
    }
    shown.sort(key=keys[sort_by])
    st.caption(f"{len(shown)} of {len(devices)} devices")
    frame = pd.DataFrame(
        {
            "device": [f"device?device={quote(d.device_id, safe='')}" for d in shown],
            "status": [d.status for d in shown],
            "fleet": [d.fleet or "—" for d in shown],
            "model": [d.model_name or "—" for d in shown],
            "version": [d.model_version or "—" for d in shown],
            "hardware": [d.hardware or "—" for d in shown],
            "last seen": [fmt.ago(d.last_seen) for d in shown],
            "clock skew": [fmt.signed_seconds(d.clock_skew_s) for d in shown],
            "power": [_power(d) for d in shown],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        key="device_table",
        column_config={
            "device": st.column_config.LinkColumn(
                "device", display_text=r"device\?device=(.*)", help="open the device page"
            )
        },
    )
    if shown:
        pick = st.selectbox("Open device", [d.device_id for d in shown], key="open_device")
        st.page_link(
            DEVICE_PAGE,
            label=f"Open {pick}",
            icon=":material/developer_board:",
            query_params={"device": pick},
        )


def _power(d: Device) -> str:
    if d.power_sources is None:
        return "unknown"
    return ", ".join(d.power_sources) or "no power sensor"


def render(ctx: PageContext) -> None:
    devices = ctx.client.devices()
    if not devices:
        _empty_state(ctx.client.server_url)
        return
    summary = ctx.client.fleet_summary(ctx.start, ctx.end)
    _firing_now(ctx)
    _status_row(devices)
    _performance(ctx, summary, devices)
    _versions(ctx, summary, devices)
    _device_table(devices)


run_page("Fleet", render)
