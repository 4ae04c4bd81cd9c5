"""``edgewatch rules check FILE``: validate a rules file offline, as ``promtool check rules``.

Runs every check the server runs when it loads or reloads rules (the schema, receivers,
detectors, each detector's parameters and scopes) without a server or a database, so a CI
job can refuse a broken rules file before it is deployed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add the ``rules`` sub-command."""
    rules = sub.add_parser("rules", help="check alert rules files offline")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate rules files (exit 1 on any problem)")
    check.add_argument("files", nargs="+", type=Path, help="rules YAML files")


class _AnySecret(Mapping[str, str]):
    """Every environment variable set to a well-formed signing secret: offline, a receiver's
    secret comes from the deployment's environment and is not the file's to prove."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __getitem__(self, key: str) -> str:
        return self._secret

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def check(paths: list[Path]) -> int:
    """Check each file; print its problems (stderr) or a one-line success (stdout)."""
    from edgewatch.server.alert import RulesError, generate_secret, load_rules
    from edgewatch.server.alerting import unsupported_rules

    env = _AnySecret(generate_secret())
    failed = False
    for path in paths:
        try:
            ruleset = load_rules(path, environ=env)
            problems = unsupported_rules(ruleset.rules)
        except RulesError as e:
            problems = list(e.problems)
        if problems:
            failed = True
            print(RulesError(str(path), problems), file=sys.stderr)
        else:
            print(f"{path}: SUCCESS: {len(ruleset.rules)} rules found")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    """Dispatch ``edgewatch rules ...``."""
    return check(list(args.files))
