"""The ``edgewatch`` command line: one sub-command per process or admin task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _not_built(name: str) -> int:
    print(
        f"edgewatch {name}: not built yet in this version of edgewatch. "
        "See the project's open issues; nothing was started.",
        file=sys.stderr,
    )
    return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="edgewatch", description="Monitoring for ML models on edge devices."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="server + dashboard + demo fleet on the embedded DuckDB default")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edgewatch`` console script."""
    args = build_parser().parse_args(argv)
    return _not_built(args.command)


if __name__ == "__main__":
    sys.exit(main())
