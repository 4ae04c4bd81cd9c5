"""``edgewatch rollout wait``: block until the rollout gate's verdict for a model version is
final, for OTA pipelines and CI jobs between rollout phases.

Exit codes: 0 the version passed, 1 it failed (the failed signals are printed), 2 the
timeout came first (or the server could not be asked); 3 bad usage or token.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from edgewatch.contract import (
    ENV_TOKEN,
    ApiClient,
    ApiError,
    NotFoundError,
    RequestRejectedError,
    RolloutVerdictOut,
    UnauthorizedError,
    segment,
)
from edgewatch.server._remote_cli import add_server_args, client_of

EXIT_PASS, EXIT_FAIL, EXIT_TIMEOUT, EXIT_USAGE = 0, 1, 2, 3
_UNITS_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h)")
    return float(m.group(1)) * _UNITS_S[m.group(2)]


def add_parsers(sub: Any) -> None:
    """Register ``rollout`` (with ``wait`` and ``status``) on the top-level sub-parsers."""
    rollout = sub.add_parser("rollout", help="rollout gate verdicts (via the API)")
    r_sub = rollout.add_subparsers(dest="rollout_command", required=True)
    wait = r_sub.add_parser(
        "wait", help="block until pass (exit 0), fail (exit 1) or timeout (exit 2)"
    )
    status = r_sub.add_parser("status", help="print the current verdict once")
    wait.add_argument("--timeout", type=_duration, default=7200.0, help="e.g. 30m, 2h (default 2h)")
    wait.add_argument(
        "--interval", type=_duration, default=30.0, help="poll interval (default 30s)"
    )
    for p in (wait, status):
        p.add_argument("--model", required=True)
        p.add_argument("--version", required=True)
        p.add_argument("--established", help="version to compare with (default: the most seen)")
        p.add_argument(
            "--min-devices", type=int, default=2, help="canary devices per hardware class to pass"
        )
        add_server_args(p)
        p.add_argument("--json", action="store_true", help="print the final verdict's JSON")


def _summary(v: RolloutVerdictOut) -> str:
    classes = ", ".join(
        f"{c.hardware_class} {c.verdict} ({c.canary_devices} devices, "
        f"{c.canary_device_hours} device-hours vs {c.compared_with or 'nothing yet'})"
        for c in v.hardware_classes
    )
    failed = f"; failed: {', '.join(v.failed)}" if v.failed else ""
    return f"{v.model} {v.version}: {v.verdict}{failed} [{classes or 'no canary data'}]"


def fetch_verdict(client: ApiClient, args: argparse.Namespace) -> RolloutVerdictOut:
    """One verdict from the server; an ``ApiError`` when it cannot be had."""
    params: dict[str, Any] = {"min_devices": args.min_devices, "established": args.established}
    path = f"/api/v1/rollouts/{segment(args.model)}/{segment(args.version)}"
    return client.get(RolloutVerdictOut, path, params)


def run_rollout(
    args: argparse.Namespace,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """``rollout wait`` / ``rollout status``; the exit code."""
    if not (args.token or os.environ.get(ENV_TOKEN)):
        print(
            f"edgewatch rollout: an admin token is needed (--token or {ENV_TOKEN})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    deadline = clock() + (args.timeout if args.rollout_command == "wait" else 0.0)
    last: RolloutVerdictOut | None = None
    try:
        client = client_of(args)
    except ValueError as e:
        print(f"edgewatch rollout: {e}", file=sys.stderr)
        return EXIT_USAGE
    with client:
        while True:
            try:
                last = fetch_verdict(client, args)
            except (UnauthorizedError, RequestRejectedError, NotFoundError) as e:
                print(f"edgewatch rollout: {e}", file=sys.stderr)
                return EXIT_USAGE
            except ApiError as e:  # unreachable or busy: the server may be restarting, ask again
                print(f"edgewatch rollout: {e}", file=sys.stderr)
            if last is not None:
                print(_summary(last), file=sys.stderr, flush=True)
                if last.verdict in ("pass", "fail") or args.rollout_command == "status":
                    break
            remaining = deadline - clock()
            if remaining <= 0:
                break
            sleep(min(args.interval, remaining))
    if args.json and last is not None:
        print(last.model_dump_json(indent=2))
    if last is None or last.verdict == "wait":
        if args.rollout_command == "wait":
            print("edgewatch rollout wait: timed out before a final verdict", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_PASS if last.verdict == "pass" else EXIT_FAIL
