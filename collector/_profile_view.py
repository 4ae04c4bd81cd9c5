"""The terminal side of ``edgewatch profile``: a progress line while it runs, a table at the end.

Uses rich when installed (the server and demo extras bring it); plain text otherwise, so the
profile also runs on a device with the base install plus onnxruntime.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from edgewatch.collector._profile import Progress
from edgewatch.collector._profile_report import LatencySummary, ProfileReport

BAR_WIDTH = 30


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def _mib(size_bytes: int) -> str:
    if size_bytes < 2**20:
        return f"{size_bytes / 2**10:.1f} KiB"
    return f"{size_bytes / 2**20:.1f} MiB"


def report_rows(report: ProfileReport) -> list[tuple[str, str]]:
    """The report as (what, value) rows, in reading order."""
    lat = report.latency
    rows = [
        ("model", f"{report.model_file} ({_mib(report.model_size_bytes)}, {report.runtime})"),
        ("hardware class", report.hardware["class"]),
        ("load", f"{report.load_time_s * 1e3:.1f} ms, +{_mib(report.load_memory_bytes)} RSS"),
        ("peak RSS", _mib(report.peak_rss_bytes)),
        ("latency p50 / p95 / p99", f"{_ms(lat.p50_s)} / {_ms(lat.p95_s)} / {_ms(lat.p99_s)}"),
        ("runs", f"{lat.runs} × batch {report.batch_size}, {report.threads} thread(s)"),
        ("throughput", f"{report.throughput_per_s:,.1f} inferences/s"),
        ("CPU", f"{report.cpu_cores_used * 100:.0f} % of one core"),
    ]
    if report.soak_latency is not None:
        s = report.soak_latency
        rows.append(("soak p50 / p95", f"{_ms(s.p50_s)} / {_ms(s.p95_s)} over {report.soak_s:g} s"))
    best = report.energy.best
    per = report.energy.joules_per_inference
    if best is not None and per is not None:
        rows.append(
            (
                "energy / inference",
                f"{per * 1e3:.4f} mJ ±{best.relative_error * 100:.0f} % "
                f"({best.source} {best.method}, {best.watts:.2f} W)",
            )
        )
    tried = ", ".join(f"{t.source} {t.status}" for t in report.energy.tried)
    rows.append(("energy sources", tried))
    if best is None:
        rows.append(("energy / inference", "not measured: no energy or power source found"))
    t = report.thermal
    if t.max_temperature_c is not None:
        rows.append(("max temperature", f"{t.max_temperature_c:.1f} °C"))
    throttling = []
    if t.throttle_events is not None:
        throttling.append(f"{t.throttle_events} throttle events")
    if t.rpi_throttled is not None:
        throttling.append("firmware throttled" if t.rpi_throttled else "firmware not throttled")
    if t.min_frequency_ratio is not None:
        throttling.append(f"lowest clock {t.min_frequency_ratio * 100:.0f} % of max")
    rows.append(("throttling", ", ".join(throttling) or "not reported by this platform"))
    if t.power_mode is not None:
        rows.append(("power mode", t.power_mode))
    p = report.predictions
    mix = ", ".join(f"{k}: {v / p.rows:.0%}" for k, v in list(p.class_counts.items())[:12])
    rows.append(("prediction mix", mix or "regression"))
    if p.score_quantiles:
        q = p.score_quantiles
        rows.append(("score p5 / p50 / p95", f"{q['p5']:.3f} / {q['p50']:.3f} / {q['p95']:.3f}"))
    if p.accuracy is not None:
        rows.append(("accuracy", f"{p.accuracy:.1%} on {p.labelled_rows} labelled rows"))
    return rows


def histogram_lines(latency: LatencySummary) -> list[str]:
    """The per-run latency histogram as text bars."""
    top = max((c for _, c in latency.histogram), default=0) or 1
    return [
        f"≤ {_ms(edge):>12}  {'█' * round(count / top * BAR_WIDTH):<{BAR_WIDTH}} {count}"
        for edge, count in latency.histogram
    ]


def print_report(report: ProfileReport, out: TextIO | None = None) -> None:
    """The readable table (rich when installed) and the latency histogram (on stdout by default)."""
    out = out or sys.stdout
    rows = report_rows(report)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"{k:<{width}}  {v}", file=out)
        print("\n".join(["latency per run:", *histogram_lines(report.latency)]), file=out)
        return
    table = Table(title=f"edgewatch profile: {report.model_file}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for k, v in rows:
        table.add_row(k, v)
    console = Console(file=out)
    console.print(table)
    console.print("latency per run:")
    for line in histogram_lines(report.latency):
        console.print(line, markup=False, highlight=False)


@contextmanager
def progress_display(enabled: bool = True, err: TextIO | None = None) -> Iterator[Progress]:
    """A progress callback: a rich bar per phase on a terminal, nothing otherwise."""
    if not enabled:
        yield lambda phase, done, total: None
        return
    try:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import TaskID
    except ImportError:
        yield lambda phase, done, total: None
        return
    with RichProgress(console=Console(file=err or sys.stderr), transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=total or None)
            bars.update(tasks[phase], completed=done, total=total or None)

        yield update
