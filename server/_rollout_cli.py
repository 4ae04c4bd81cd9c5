"""``edgewatch rollout wait``: block until the rollout gate's verdict for a model version is
final, for OTA pipelines and CI jobs between rollout phases.

Exit codes: 0 the version passed, 1 it failed (the failed signals are printed), 2 the
timeout came first (or the server could not be asked); 3 bad usage or token.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from edgewatch.server._remote_cli import DEFAULT_SERVER

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
        p.add_argument(
            "--server",
            default=os.environ.get("EDGEWATCH_SERVER", DEFAULT_SERVER),
            help=f"server URL (default $EDGEWATCH_SERVER or {DEFAULT_SERVER})",
        )
        p.add_argument("--token", default=os.environ.get("EDGEWATCH_TOKEN"), help="admin token")
        p.add_argument("--json", action="store_true", help="print the final verdict's JSON")


def _summary(v: dict[str, Any]) -> str:
    classes = ", ".join(
        f"{c['hardware_class']} {c['verdict']} ({c['canary_devices']} devices, "
        f"{c['canary_device_hours']} device-hours vs {c['compared_with'] or 'nothing yet'})"
        for c in v.get("hardware_classes", [])
    )
    failed = f"; failed: {', '.join(v['failed'])}" if v.get("failed") else ""
    return f"{v['model']} {v['version']}: {v['verdict']}{failed} [{classes or 'no canary data'}]"


def fetch_verdict(client: httpx.Client, args: argparse.Namespace) -> dict[str, Any]:
    """One verdict from the server; ``httpx.HTTPError`` when it cannot be had."""
    params: dict[str, Any] = {"min_devices": args.min_devices}
    if args.established:
        params["established"] = args.established
    r = client.get(f"/api/v1/rollouts/{args.model}/{args.version}", params=params)
    r.raise_for_status()
    answer: dict[str, Any] = r.json()
    return answer


def run_rollout(
    args: argparse.Namespace,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """``rollout wait`` / ``rollout status``; the exit code."""
    if not args.token:
        print(
            "edgewatch rollout: an admin token is needed (--token or EDGEWATCH_TOKEN)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    deadline = clock() + (args.timeout if args.rollout_command == "wait" else 0.0)
    last: dict[str, Any] | None = None
    with httpx.Client(
        base_url=args.server.rstrip("/"),
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30.0,
    ) as client:
        while True:
            try:
                last = fetch_verdict(client, args)
            except httpx.HTTPStatusError as e:
                if e.response.status_code in (401, 403, 404, 422):
                    print(
                        f"edgewatch rollout: {e.response.status_code} {e.response.text}",
                        file=sys.stderr,
                    )
                    return EXIT_USAGE
                print(f"edgewatch rollout: {e}", file=sys.stderr)
            except httpx.TransportError as e:  # the server may be restarting: keep asking
                print(f"edgewatch rollout: {e!r}", file=sys.stderr)
            if last is not None:
                print(_summary(last), file=sys.stderr, flush=True)
                if last["verdict"] in ("pass", "fail") or args.rollout_command == "status":
                    break
            remaining = deadline - clock()
            if remaining <= 0:
                break
            sleep(min(args.interval, remaining))
    if args.json and last is not None:
        print(json.dumps(last, indent=2))
    if last is None or last["verdict"] == "wait":
        if args.rollout_command == "wait":
            print("edgewatch rollout wait: timed out before a final verdict", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_PASS if last["verdict"] == "pass" else EXIT_FAIL
