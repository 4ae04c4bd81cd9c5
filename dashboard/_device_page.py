"""Device page: one device's latency, throughput, memory, CPU, power and energy, temperature,
battery and clock skew over time, offline gaps shaded, alerts on the time axis, what the device
lost (as its collector counts it) and the model versions it ran."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from edgewatch.contract import AlertOut as Alert
from edgewatch.contract import DeviceDetail
from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import DroppedOut as Dropped
from edgewatch.contract import ReadingOut as Reading
from edgewatch.contract import SeriesOut as Series
from edgewatch.dashboard import _alert_links as links
from edgewatch.dashboard import _charts as charts
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._analysis import offline_gaps
from edgewatch.dashboard._page import PageContext, optional, run_page

DURATION = "ml.inference.duration"
COUNT = "ml.inference.count"
ENERGY = "ml.inference.energy"
PROCESS_MEMORY = "process.memory.usage"
SYSTEM_MEMORY = "system.memory.usage"
PROCESS_CPU = "process.cpu.utilization"
SYSTEM_CPU = "system.cpu.utilization"
POWER = "hw.power"
POWER_SOURCE = "edgewatch.power.source"
TEMPERATURE = "hw.temperature"
SENSOR = "hw.id"
BATTERY = "hw.battery.charge"
OUTCOME = "ml.inference.outcome"
# Marks readings that a simulator made up (the demo fleet) rather than a sensor measured.
SIMULATED = "edgewatch.simulated"
SIMULATED_HELP = "simulated, not measured (the reading carries edgewatch.simulated=true)"


def _simulated_metrics(detail: DeviceDetail) -> set[str]:
    """Metrics whose readings say they are simulated."""
    return {r.metric for r in detail.readings if str(r.attributes.get(SIMULATED)) == "true"}


def _markers(alerts: list[Alert]) -> list[charts.Marker]:
    out = []
    for a in alerts:
        if a.fired_at is not None:
            out.append(charts.Marker(a.fired_at, f"{a.rule} fired", a.severity))
        if a.resolved_at is not None:
            out.append(charts.Marker(a.resolved_at, f"{a.rule} resolved", "info"))
    return out


def _header(detail: DeviceDetail) -> None:
    d = detail
    power = detail.reading(POWER)
    temperature = detail.reading(TEMPERATURE)
    battery = detail.reading(BATTERY)
    memory = detail.reading(PROCESS_MEMORY)
    cpu = detail.reading(SYSTEM_CPU) or detail.reading(PROCESS_CPU)
    energy = detail.reading(ENERGY)
    simulated = _simulated_metrics(detail)

    def note(reading: Reading | None, extra: str | None = None) -> str | None:
        """The card's help: where the value comes from when that is worth saying."""
        notes = [extra] if extra else []
        if reading is not None and reading.metric in simulated:
            notes.append(SIMULATED_HELP)
        return "; ".join(notes) or None

    st.markdown(
        f"**{d.device_id}** · status **{d.status}** · model **{d.model_name or '—'} "
        f"{d.model_version or '—'}** · fleet {d.fleet or '—'} · hardware {d.hardware or '—'} · "
        f"runtime {d.runtime or '—'} · last seen {fmt.ago(d.last_seen)}"
    )
    top, bottom = st.columns(4), st.columns(4)
    top[0].metric(
        "Memory (process)", fmt.size_bytes(memory.value if memory else None), help=note(memory)
    )
    top[1].metric("CPU", fmt.percent(cpu.value if cpu else None), help=note(cpu))
    if d.power_sources == []:
        top[2].metric("Power", "no power sensor")
    else:
        source = power.attributes.get(POWER_SOURCE, "?") if power else None
        top[2].metric(
            "Power",
            fmt.watts(power.value if power else None),
            help=note(power, f"source: {source}" if source else None),
        )
    top[3].metric(
        "Energy / inference", fmt.joules(energy.value if energy else None), help=note(energy)
    )
    bottom[0].metric(
        "Temperature",
        fmt.celsius(temperature.value if temperature else None),
        help=note(temperature),
    )
    bottom[1].metric(
        "Battery", fmt.percent(battery.value if battery else None, 0), help=note(battery)
    )
    bottom[2].metric(
        "Clock skew",
        fmt.signed_seconds(d.clock_skew_s),
        help="newest point time of the last batch minus the time the server received it",
    )
    bottom[3].metric("Power source", _power_source(d, power))
    shown = {
        "memory": memory,
        "CPU": cpu,
        "power": power,
        "energy": energy,
        "temperature": temperature,
        "battery": battery,
    }
    made_up = [name for name, r in shown.items() if r is not None and r.metric in simulated]
    if made_up:
        st.caption(
            f"Simulated, not measured: {', '.join(made_up)} (the device marks these readings "
            "`edgewatch.simulated=true`, as the demo fleet does)."
        )
    st.markdown(lost_on_device(detail.dropped))


def lost_on_device(dropped: Dropped | None) -> str:
    """One line: what the device lost so far (spool overflow, rejected batches, bad rows)."""
    if dropped is None or not (dropped.batches_total or dropped.inferences_total):
        return "Lost on device: nothing reported."
    reasons = ", ".join(
        f"{reason.replace('_', ' ')} {n:,}" for reason, n in sorted(dropped.inferences.items())
    )
    return (
        f"Lost on device: **{dropped.batches_total:,} batches "
        f"({dropped.inferences_total:,} inferences)** — last at {fmt.when(dropped.last_drop_at)}"
        f" · inferences by reason: {reasons or '—'} · as of {fmt.when(dropped.reported_at)}"
    )


def _power_source(d: Device, power: Reading | None) -> str:
    """Where the power figure comes from, or why there is none."""
    if d.power_sources == []:
        return "none"
    if power is not None and POWER_SOURCE in power.attributes:
        return str(power.attributes[POWER_SOURCE])
    return ", ".join(d.power_sources or ()) or "unknown"


def _sensor_values(detail: DeviceDetail, metric: str, key: str) -> list[str]:
    return sorted(
        {
            str(r.attributes[key])
            for r in detail.readings
            if r.metric == metric and key in r.attributes
        }
    )


def _charts(ctx: PageContext, detail: DeviceDetail, alerts: list[Alert]) -> None:
    d = detail
    simulated = _simulated_metrics(detail)
    get = ctx.client.series

    def one(
        metric: str, *, agg: str | None = None, attributes: list[tuple[str, str]] | None = None
    ) -> Series:
        return get(
            metric,
            ctx.start,
            ctx.end,
            step_s=ctx.step_s,
            device=d.device_id,
            agg=agg,
            attributes=attributes or (),
        )

    latency = {q: one(DURATION, agg=q) for q in ("p50", "p95", "p99")}
    throughput = {
        "inferences": one(COUNT, agg="rate"),
        "errors": one(COUNT, agg="rate", attributes=[(OUTCOME, "error")]),
    }
    memory = {"process": one(PROCESS_MEMORY), "system": one(SYSTEM_MEMORY)}
    cpu = {"process": one(PROCESS_CPU), "system": one(SYSTEM_CPU)}
    sources = list(d.power_sources or ()) or _sensor_values(detail, POWER, POWER_SOURCE)
    power = {s: one(POWER, attributes=[(POWER_SOURCE, s)]) for s in sources}
    energy = {"energy / inference": one(ENERGY)}
    sensors = _sensor_values(detail, TEMPERATURE, SENSOR)
    temperature = (
        {s: one(TEMPERATURE, attributes=[(SENSOR, s)]) for s in sensors}
        if sensors
        else {"temperature": one(TEMPERATURE)}
    )
    battery = {"charge": one(BATTERY)}
    every = [*latency.values(), *throughput.values(), *memory.values(), *cpu.values()]
    every += [*power.values(), *energy.values(), *temperature.values(), *battery.values()]
    gaps = offline_gaps(every, start=ctx.start, end=ctx.end, step_s=ctx.step_s, device=d)
    markers = _markers(alerts)
    if gaps:
        st.caption(
            f"Shaded: {len(gaps)} span(s) without data from the device (offline or not sending)."
        )

    def chart(title: str, lines: dict[str, Series], unit: str, scale: float = 1.0) -> None:
        present = {k: v for k, v in lines.items() if v.values}
        made_up = any(s.metric in simulated for s in present.values())
        st.markdown(f"**{title}**" + (" (simulated)" if made_up else ""))
        if not present:
            st.caption(f"No {title.lower()} data in this window.")
            return
        st.plotly_chart(
            charts.time_chart(
                present,
                unit=unit,
                scale=scale,
                start=ctx.start,
                end=ctx.end,
                gaps=gaps,
                markers=markers,
            ),
            key=f"chart_{title}",
        )

    left, right = st.columns(2)
    with left:
        chart("Inference latency", latency, "ms", 1e3)
        chart("Memory", memory, "MiB", 1 / 2**20)
        if d.power_sources == [] or not sources:
            st.markdown("**Power**")
            st.info("No power sensor on this device: power and energy are not measured.")
        else:
            chart("Power", power, "W")
        chart("Temperature", temperature, "°C")
    with right:
        chart("Throughput", throughput, "inferences/s")
        chart("CPU", cpu, "%", 100)
        chart("Energy per inference", energy, "mJ", 1e3)
        chart("Battery", battery, "%", 100)


def _alert_table(alerts: list[Alert] | None) -> None:
    st.subheader("Alerts")
    if alerts is None:
        st.caption(
            "No alerts to show: this server has no alerting (an older version, or alerting switched off)."
        )
        return
    if not alerts:
        st.caption("No alerts for this device.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "state": [a.state for a in alerts],
                "severity": [a.severity for a in alerts],
                "rule": [a.rule for a in alerts],
                "summary": [a.summary for a in alerts],
                "since": [fmt.when(a.fired_at or a.active_at) for a in alerts],
                "resolved": [fmt.when(a.resolved_at) for a in alerts],
                "evidence": [links.evidence_url(a) for a in alerts],
            }
        ),
        hide_index=True,
        key="device_alerts",
        column_config=links.link_columns(subject=False),
    )


def _version_history(ctx: PageContext, d: Device, alerts: list[Alert] | None) -> None:
    st.subheader("Model versions")
    seen: dict[str, list[datetime]] = {}
    drift = optional(lambda: ctx.client.drift(ctx.start, ctx.end, device=d.device_id)) or []
    for r in drift:
        seen.setdefault(f"{r.model or '—'} {r.version or '—'}", []).append(r.window_end)
    for a in alerts or []:
        if "version" in a.labels:
            label = f"{a.labels.get('model', d.model_name or '—')} {a.labels['version']}"
            seen.setdefault(label, []).append(a.active_at)
    current = f"{d.model_name or '—'} {d.model_version or '—'}"
    rows = [
        {"version": label, "first seen": fmt.when(min(ts)), "last seen": fmt.when(max(ts))}
        for label, ts in sorted(seen.items(), key=lambda kv: min(kv[1]))
        if label != current
    ]
    rows.append(
        {"version": f"{current} (current)", "first seen": "—", "last seen": fmt.when(d.last_seen)}
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="version_history")
    st.caption(
        f"Running {current} on {d.runtime or 'an unknown runtime'}; first heard from "
        f"{fmt.when(d.first_seen)}. Earlier versions are listed when drift results or alerts "
        "in this window name them."
    )


def render(ctx: PageContext) -> None:
    devices = ctx.client.devices()
    if not devices:
        st.info(
            "No devices yet: run `edgewatch demo` or point a collector at "
            f"{ctx.client.server_url}/v1/metrics."
        )
        return
    ids = [d.device_id for d in devices]
    wanted = st.query_params.get("device", ids[0])
    index = ids.index(wanted) if wanted in ids else 0
    if wanted not in ids:
        st.warning(f"Device {wanted!r} is not known to the server; showing {ids[0]}.")
    device_id = st.selectbox("Device", ids, index=index, key="device_pick")
    st.query_params["device"] = device_id
    detail = ctx.client.device(device_id, readings_since_s=max(ctx.range_s, 3600.0))
    alerts = optional(lambda: ctx.client.alerts(device=device_id, limit=200))
    _header(detail)
    _charts(ctx, detail, alerts or [])
    _alert_table(alerts)
    _version_history(ctx, detail, alerts)


run_page("Device", render)
