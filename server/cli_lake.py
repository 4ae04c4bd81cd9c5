"""``edgewatch lake``: admin commands of the scale-out store (docs/scale-out.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parsers(sub: Any) -> None:
    """Register ``lake migrate``."""
    lake = sub.add_parser("lake", help="scale-out store (DuckLake) admin commands")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)
    mig = lake_sub.add_parser(
        "migrate", help="copy an embedded DuckDB file (server stopped) into an empty lake"
    )
    mig.add_argument("--db", type=Path, required=True, help="the embedded DuckDB file")
    mig.add_argument("--catalog", required=True, help="PostgreSQL URL of the lake's catalog")
    mig.add_argument("--data-path", required=True, help="directory or s3:// URL of the lake")


def run(args: argparse.Namespace) -> int:
    """Run a ``lake`` sub-command."""
    from edgewatch.server.lake import LakeConfig
    from edgewatch.server.lake._migrate import Copied, migrate_file
    from edgewatch.server.store import StoreError

    def show(done: Copied) -> None:
        print(f"  {done.table:<20} {done.rows:>12,} rows", file=sys.stderr, flush=True)

    try:
        lake = LakeConfig(args.catalog, args.data_path)
        print(f"copying {args.db} into the lake at {args.data_path}", file=sys.stderr)
        copied = migrate_file(args.db, lake, progress=show)
    except StoreError as e:
        print(f"edgewatch lake migrate: {e}", file=sys.stderr)
        return 1
    print(f"done: {sum(c.rows for c in copied):,} rows in {len(copied)} tables")
    return 0
