"""The import direction of DESIGN.md: detectors and the REST contract import nothing of
edgewatch; the collector imports only the detectors; the server may import the collector's
wire names and the contract only; the dashboard reaches the server over HTTP only, through
the contract (and the collector's wire names)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ALLOWED = {
    "detectors": set(),
    "contract": set(),
    "collector": {"edgewatch.detectors"},
    "server": {"edgewatch.detectors", "edgewatch.collector.semconv", "edgewatch.contract"},
    "dashboard": {"edgewatch.contract", "edgewatch.collector.semconv"},
    "demo": {"edgewatch.collector", "edgewatch.detectors"},
}


def _edgewatch_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("edgewatch"))
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edgewatch")
        ):
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _is_allowed(package: str, imported: str) -> bool:
    """Allowed when the name, or a module above it, is the package itself or on its list."""
    parts = imported.split(".")
    prefixes = {".".join(parts[:k]) for k in range(2, len(parts) + 1)}
    return bool(prefixes & ({f"edgewatch.{package}"} | ALLOWED[package]))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for imported in _edgewatch_imports(path):
            if not _is_allowed(package, imported):
                offenders.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert offenders == []


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from edgewatch.server import store\nimport edgewatch.dashboard\n")
    imported = _edgewatch_imports(bad)
    assert not any(_is_allowed("collector", i) for i in imported)
