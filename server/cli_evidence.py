"""``edgewatch sampling raise`` and ``edgewatch report``: talk to a running server over HTTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgewatch.contract import ApiError, SamplingIn, SamplingOut, format_rfc3339, segment
from edgewatch.server._remote_cli import add_server_args, client_of
from edgewatch.server.alert import DurationError, parse_duration


def add_parsers(sub: Any) -> None:
    """Add the ``sampling`` and ``report`` sub-commands."""
    sampling = sub.add_parser("sampling", help="sampled-row budgets of devices (server running)")
    sampling_sub = sampling.add_subparsers(dest="sampling_command", required=True)
    raise_ = sampling_sub.add_parser("raise", help="raise a device's budget for a time")
    raise_.add_argument("--device", required=True, help="device id")
    raise_.add_argument("--rows-per-hour", type=int, required=True, help="budget while raised")
    raise_.add_argument("--for", dest="for_", default="1h", help="how long, e.g. 30m, 1h, 1d")
    raise_.add_argument("--reason", default="operator", help="a note shown in the device config")
    add_server_args(raise_)

    report = sub.add_parser("report", help="Evidently drift report of sampled rows (HTML)")
    report.add_argument("--model", required=True)
    report.add_argument("--version", required=True)
    report.add_argument("--device", help="one device (default: every device of the version)")
    report.add_argument("--from", dest="from_", help="RFC 3339 or unix seconds (default to-24h)")
    report.add_argument("--to", help="RFC 3339 or unix seconds (default now)")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file")
    report.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    add_server_args(report)


def sampling_raise(args: argparse.Namespace) -> int:
    """PUT the raise; prints the budget in force."""
    for_s = parse_duration(args.for_)
    if for_s <= 0 or args.rows_per_hour < 0:
        raise ValueError("--for must be > 0 and --rows-per-hour >= 0")
    body = SamplingIn(rows_per_hour=args.rows_per_hour, for_s=for_s, reason=args.reason)
    with client_of(args) as client:
        s = client.call(
            SamplingOut,
            "PUT",
            f"/api/v1/devices/{segment(args.device)}/sampling",
            json=body.model_dump(mode="json", exclude_none=True),
        )
    until = "-" if s.expires_at is None else format_rfc3339(s.expires_at)
    print(f"device {args.device}: {s.rows_per_hour} rows/h until {until}")
    return 0


def report(args: argparse.Namespace) -> int:
    """GET the report with a progress indicator while the server builds it; write ``--out``."""
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

    params = {
        "model": args.model,
        "version": args.version,
        "device": args.device,
        "from": args.from_,
        "to": args.to,
    }
    with (
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            transient=True,
            console=_stderr_console(),
        ) as progress,
        client_of(args, timeout_s=args.timeout) as client,
    ):
        task = progress.add_task("server is building the report", total=None)
        with client.stream("GET", "/api/v1/reports/drift", params=params) as response:
            size = response.headers.get("content-length")
            progress.update(task, description="downloading", total=int(size) if size else None)
            tmp = args.out.with_name(args.out.name + ".part")
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    progress.advance(task, len(chunk))
            tmp.replace(args.out)
    ref = response.headers.get("x-edgewatch-reference-rows", "?")
    cur = response.headers.get("x-edgewatch-current-rows", "?")
    print(f"wrote {args.out}: reference rows {ref}, current rows {cur}")
    return 0


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def run(args: argparse.Namespace) -> int:
    """Dispatch ``sampling`` / ``report``; bad input and unreachable servers give exit code 2/1."""
    try:
        if args.command == "report":
            return report(args)
        return sampling_raise(args)
    except (ValueError, DurationError) as e:
        print(f"edgewatch {args.command}: {e}", file=sys.stderr)
        return 2
    except ApiError as e:
        print(f"edgewatch {args.command}: {e}", file=sys.stderr)
        return 1
