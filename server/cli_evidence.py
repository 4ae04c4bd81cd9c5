"""``edgewatch sampling raise`` and ``edgewatch report``: talk to a running server over HTTP."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from edgewatch.server.alert import DurationError, parse_duration

DEFAULT_SERVER = "http://127.0.0.1:4318"
TOKEN_ENV = "EDGEWATCH_TOKEN"
SERVER_ENV = "EDGEWATCH_SERVER"


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help=f"server URL (default ${SERVER_ENV} or {DEFAULT_SERVER})")
    p.add_argument("--token", help=f"admin token (default ${TOKEN_ENV})")


def add_parsers(sub: Any) -> None:
    """Add the ``sampling`` and ``report`` sub-commands."""
    sampling = sub.add_parser("sampling", help="sampled-row budgets of devices (server running)")
    sampling_sub = sampling.add_subparsers(dest="sampling_command", required=True)
    raise_ = sampling_sub.add_parser("raise", help="raise a device's budget for a time")
    raise_.add_argument("--device", required=True, help="device id")
    raise_.add_argument("--rows-per-hour", type=int, required=True, help="budget while raised")
    raise_.add_argument("--for", dest="for_", default="1h", help="how long, e.g. 30m, 1h, 1d")
    raise_.add_argument("--reason", default="operator", help="a note shown in the device config")
    _client_args(raise_)

    report = sub.add_parser("report", help="Evidently drift report of sampled rows (HTML)")
    report.add_argument("--model", required=True)
    report.add_argument("--version", required=True)
    report.add_argument("--device", help="one device (default: every device of the version)")
    report.add_argument("--from", dest="from_", help="unix seconds or ISO 8601 (default to-24h)")
    report.add_argument("--to", help="unix seconds or ISO 8601 (default now)")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file")
    report.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    _client_args(report)


def _connection(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    server = (args.server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER).rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise ValueError(f"--server must be an http(s) URL, got {server!r}")
    token = args.token or os.environ.get(TOKEN_ENV)
    return server, ({"Authorization": f"Bearer {token}"} if token else {})


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def sampling_raise(args: argparse.Namespace) -> int:
    """PUT the raise; prints the budget in force."""
    for_s = parse_duration(args.for_)
    if for_s <= 0 or args.rows_per_hour < 0:
        raise ValueError("--for must be > 0 and --rows-per-hour >= 0")
    server, headers = _connection(args)
    response = httpx.put(
        f"{server}/api/v1/devices/{args.device}/sampling",
        json={"rows_per_hour": args.rows_per_hour, "for_s": for_s, "reason": args.reason},
        headers=headers,
        timeout=30.0,
    )
    if response.status_code != 200:
        print(
            f"edgewatch sampling raise: HTTP {response.status_code}: {_detail(response)}",
            file=sys.stderr,
        )
        return 1
    s = response.json()
    print(
        f"device {args.device}: {s['rows_per_hour']} rows/h until {s['expires_at_unix']:.0f} (unix s)"
    )
    return 0


def report(args: argparse.Namespace) -> int:
    """GET the report with a progress indicator while the server builds it; write ``--out``."""
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

    server, headers = _connection(args)
    params = {"model": args.model, "version": args.version}
    for key, value in (("device", args.device), ("from", args.from_), ("to", args.to)):
        if value:
            params[key] = value
    with (
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            transient=True,
            console=_stderr_console(),
        ) as progress,
        httpx.Client(timeout=args.timeout) as client,
    ):
        task = progress.add_task("server is building the report", total=None)
        with client.stream(
            "GET", f"{server}/api/v1/reports/drift", params=params, headers=headers
        ) as response:
            if response.status_code != 200:
                response.read()
                progress.stop()
                print(
                    f"edgewatch report: HTTP {response.status_code}: {_detail(response)}",
                    file=sys.stderr,
                )
                return 1
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
    except httpx.HTTPError as e:
        print(f"edgewatch {args.command}: cannot reach the server: {e}", file=sys.stderr)
        return 1
