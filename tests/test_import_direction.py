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


PARSERS = {"httpx", "json", "pydantic", "requests", "urllib.request"}
"""What a module needs to fetch or hand-parse an answer, or to model one itself."""


def _top_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _parsing_outside_the_client(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in sorted((root / "dashboard").rglob("*.py"))
        if path.name != "_client.py"
        for name in sorted(_top_imports(path) & PARSERS)
    ]


def test_the_dashboard_reads_answers_only_as_contract_models() -> None:
    """Only ``dashboard/_client.py`` talks HTTP, and it reads every answer into the contract's
    models: no page fetches, parses JSON or defines a model of an answer of its own."""
    assert _parsing_outside_the_client(ROOT) == []
    client = _top_imports(ROOT / "dashboard" / "_client.py")
    assert client & PARSERS == {"httpx"}  # the injectable transport's type only


def test_the_dashboard_rule_catches_a_page_parsing_json(tmp_path: Path) -> None:
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "_page.py").write_text("import json\nfrom pydantic import Field\n")
    assert _parsing_outside_the_client(tmp_path) == [
        "dashboard/_page.py imports json",
        "dashboard/_page.py imports pydantic",
    ]


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from edgewatch.server import store\nimport edgewatch.dashboard\n")
    imported = _edgewatch_imports(bad)
    assert not any(_is_allowed("collector", i) for i in imported)


SERVER_ALLOWED = {
    "store": set(),
    "alert": set(),
    "ingest": {"store"},
    "performance": {"store"},
    "evidence": {"store"},
    "gate": {"store", "performance"},
    "detect": {"alert", "store", "performance", "evidence", "gate"},
    "alerting": {"alert", "detect", "store"},
}
"""Inside the server, the edgewatch.server subpackages each package may import (besides
itself): storage at the bottom, alerting's rules and state beside it, detection over both,
the alerting runtime over detection, and api/app/cli (not listed) on top."""

SERVER_EXEMPT: dict[Path, set[str]] = {}
"""Files allowed an import their package is not (none since the REST views moved to api/)."""


def _server_offenders(package: str, root: Path = ROOT) -> list[str]:
    offenders = []
    for path in sorted((root / "server" / package).rglob("*.py")):
        exempt = SERVER_EXEMPT.get(path.relative_to(root), set())
        for imported in _edgewatch_imports(path):
            parts = imported.split(".")
            if parts[:2] != ["edgewatch", "server"] or len(parts) < 3:
                continue
            if parts[2] not in {package} | SERVER_ALLOWED[package] | exempt:
                offenders.append(f"{path.relative_to(root)} imports {imported}")
    return offenders


@pytest.mark.parametrize("package", sorted(SERVER_ALLOWED))
def test_server_packages_point_down(package: str) -> None:
    assert _server_offenders(package) == []


def test_the_server_rule_catches_detection_importing_the_runtime(tmp_path: Path) -> None:
    (tmp_path / "server" / "detect").mkdir(parents=True)
    (tmp_path / "server" / "detect" / "bad.py").write_text(
        "from edgewatch.server.alerting import Scheduler\n"
    )
    assert _server_offenders("detect", tmp_path) == [
        "server/detect/bad.py imports edgewatch.server.alerting.Scheduler"
    ]
