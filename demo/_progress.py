"""The demo's progress display: scenario clock and one row per device (rich)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from edgewatch.demo._device import DeviceStatus


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def render(
    statuses: Sequence[DeviceStatus], scenario_s: float, duration_s: float, speed: float
) -> Table:
    """A table of the fleet at scenario time ``scenario_s``."""
    table = Table(
        title=(
            f"edgewatch demo · scenario {_clock(scenario_s)} of {_clock(duration_s)} at "
            f"{speed:g}× · power, memory and temperature are simulated"
        ),
        title_justify="left",
    )
    for column in ("device", "fleet", "hardware", "model", "inferences", "incidents"):
        table.add_column(column, justify="right" if column == "inferences" else "left")
    for s in statuses:
        incidents = ", ".join(s.incidents) or "-"
        if s.error is not None:
            incidents = f"[red]stopped: {s.error}[/red]"
        elif s.incidents:
            incidents = f"[yellow]{incidents}[/yellow]"
        table.add_row(s.device_id, s.fleet, s.hardware, s.version, str(s.inferences), incidents)
    return table


def summary_line(statuses: Sequence[DeviceStatus], scenario_s: float, duration_s: float) -> str:
    """One line for logs and non-terminal output."""
    total = sum(s.inferences for s in statuses)
    affected = sum(1 for s in statuses if s.incidents)
    stopped = sum(1 for s in statuses if s.error is not None)
    return (
        f"scenario {_clock(scenario_s)} of {_clock(duration_s)}: "
        f"{len(statuses)} devices, {total} inferences, {affected} with incidents, {stopped} stopped"
    )
