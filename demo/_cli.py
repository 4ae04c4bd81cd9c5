"""``python -m edgewatch.demo``: run a simulated fleet against an edgewatch server.

Bad arguments or a bad scenario file end with a message and exit status 2; Ctrl-C or SIGTERM
stops the devices and closes every Monitor within ``--stop-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from rich.console import Console
from rich.live import Live

from edgewatch.collector import Transport
from edgewatch.demo._fleet import Fleet
from edgewatch.demo._model import load_models
from edgewatch.demo._monitor import MonitorFactory, collector_monitor
from edgewatch.demo._progress import render, summary_line
from edgewatch.demo._scenario import ScenarioError, load_scenario
from edgewatch.demo._scenario_file import duration_seconds
from edgewatch.demo._transport import HttpTransport

TOKEN_ENV = "EDGEWATCH_TOKEN"
EXIT_USAGE = 2
_SUMMARY_EVERY_S = 10.0


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a server URL; expected e.g. http://localhost:8000"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} has an invalid port") from None
    return value.rstrip("/")


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is out of range ({low} .. {high})")
        return number

    return parse


def _positive(high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not 0 < number <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range (above 0, at most {high:g})")
        return number

    return parse


def _duration(value: str) -> float:
    try:
        seconds = duration_seconds(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r}: the duration must be positive")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """The demo's command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="edgewatch demo",
        description=(
            "Run simulated edge devices (a real ONNX digits model, simulated power/memory/"
            "temperature) that report to an edgewatch server, with the scenario's incidents."
        ),
    )
    parser.add_argument("--server", required=True, type=_url, help="server base URL")
    parser.add_argument(
        "--token", default=os.environ.get(TOKEN_ENV), help=f"device token (default ${TOKEN_ENV})"
    )
    parser.add_argument(
        "--devices", type=_int_in(1, 1000), help="number of devices (default: the scenario's)"
    )
    parser.add_argument(
        "--scenario", type=Path, help="scenario YAML file (default: the packaged default.yaml)"
    )
    parser.add_argument(
        "--speed",
        type=_positive(100_000),
        default=60.0,
        help="scenario seconds per wall second (default 60: an hour a minute)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("edgewatch-data") / "demo",
        help="spool directories and cached models go here (default edgewatch-data/demo)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        help="where the trained ONNX models are cached (default DATA_DIR/models)",
    )
    parser.add_argument(
        "--duration",
        type=_duration,
        help="scenario time to run, seconds or with s/m/h (default: the scenario's)",
    )
    parser.add_argument(
        "--rate",
        type=_positive(1000),
        help="inferences per wall second per device (default: the scenario's)",
    )
    parser.add_argument(
        "--forever",
        action="store_true",
        help="keep running after the scenario's duration (until Ctrl-C), e.g. behind a dashboard",
    )
    parser.add_argument(
        "--stop-timeout",
        type=_positive(600),
        default=10.0,
        help="seconds allowed for closing every Monitor on stop (default 10)",
    )
    return parser


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``stop`` (handlers can only be set from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(
    argv: Sequence[str] | None = None,
    *,
    monitor_factory: MonitorFactory = collector_monitor,
    transport_factory: Callable[[], Transport] = HttpTransport,
    console: Console | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the demo fleet until the scenario ends or a stop is asked; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = console or Console()
    stop = stop or threading.Event()
    dropped: list[str] = []
    try:
        scenario = load_scenario(args.scenario)
        if args.scenario is None and args.devices is not None:
            # A smaller fleet on the packaged scenario keeps the incidents that still have a device.
            scenario, dropped = scenario.trimmed_to(args.devices)
        scenario = scenario.with_overrides(device_count=args.devices, duration_s=args.duration)
    except ScenarioError as e:
        parser.error(str(e))
    for line in dropped:
        console.print(f"default scenario on {args.devices} devices: {line}")
    data_dir: Path = args.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"--data-dir {data_dir}: cannot create it: {e.strerror}")

    models_dir: Path = args.models_dir or data_dir / "models"
    with _stop_on_signals(stop):
        with console.status("training the digits models (cached after the first run) ..."):
            try:
                models = load_models(models_dir, seed=scenario.seed)
            except OSError as e:
                parser.error(f"--models-dir {models_dir}: cannot cache the models there: {e}")
        if stop.is_set():
            return 0
        fleet = Fleet(
            scenario,
            models,
            endpoint=args.server,
            token=args.token,
            data_dir=data_dir,
            speed=args.speed,
            rate_per_s=args.rate,
            monitor_factory=monitor_factory,
            transport_factory=transport_factory,
        )
        length = (
            "until stopped" if args.forever else f"{fleet.clock.wall_s(scenario.duration_s):.0f} s"
        )
        console.print(
            f"{len(fleet.devices)} devices → {args.server}; scenario {scenario.name!r} "
            f"({scenario.duration_s:g} s) at {args.speed:g}×, running {length}. Ctrl-C stops."
        )
        try:
            fleet.start()
        except Exception as e:  # a Monitor refused its settings: say so, close what opened
            fleet.stop(args.stop_timeout)
            console.print(f"could not start the fleet: {type(e).__name__}: {e}")
            return 1
        try:
            _watch(fleet, stop, console, forever=args.forever)
        finally:
            late = fleet.stop(args.stop_timeout)
    statuses = fleet.status()
    console.print(summary_line(statuses, fleet.clock.now_s(), scenario.duration_s))
    failed = [s for s in statuses if s.error is not None]
    for s in failed:
        console.print(f"device {s.device_id} stopped early: {s.error}")
    if late:
        console.print(f"not closed within {args.stop_timeout:g} s: {', '.join(late)}")
    return 1 if late or failed else 0


def _watch(fleet: Fleet, stop: threading.Event, console: Console, *, forever: bool) -> None:
    """Show progress until the scenario ends (unless ``forever``) or ``stop`` is set."""
    duration_s, speed = fleet.scenario.duration_s, fleet.clock.speed

    def running() -> bool:
        return not stop.is_set() and (forever or not fleet.finished)

    if console.is_terminal:
        with Live(console=console, refresh_per_second=2) as live:
            while running():
                live.update(render(fleet.status(), fleet.clock.now_s(), duration_s, speed))
                stop.wait(0.5)
            live.update(render(fleet.status(), fleet.clock.now_s(), duration_s, speed))
        return
    last = time.monotonic()
    while running():
        stop.wait(0.5)
        if time.monotonic() - last >= _SUMMARY_EVERY_S:
            last = time.monotonic()
            console.print(summary_line(fleet.status(), fleet.clock.now_s(), duration_s))
