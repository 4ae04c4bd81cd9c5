"""A wheel built from pyproject.toml must contain every subpackage and data file of the source tree."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
DATA_SUFFIXES = {".yaml", ".sql", ".typed"}


def _source_packages() -> dict[str, Path]:
    found = {}
    for name, folder in CONFIG["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / folder)
            dotted = ".".join((name, *rel.parts))
            found[dotted] = init.parent
    return found


def test_every_source_package_is_listed() -> None:
    missing = sorted(set(_source_packages()) - set(CONFIG["packages"]))
    assert missing == [], "add these to [tool.setuptools] packages"


def test_every_data_file_is_matched_by_package_data() -> None:
    patterns = CONFIG["package-data"]
    unmatched = []
    for dotted, folder in _source_packages().items():
        globs = patterns.get("*", []) + patterns.get(dotted, [])
        for path in folder.rglob("*"):
            if path.suffix not in DATA_SUFFIXES or "__pycache__" in path.parts:
                continue
            owner = path.parent
            if owner != folder and (owner / "__init__.py").exists():
                continue
            rel = path.relative_to(folder).as_posix()
            if not any(fnmatch.fnmatch(rel, g) for g in globs):
                unmatched.append(f"{dotted}: {rel}")
    assert unmatched == [], "add patterns to [tool.setuptools.package-data]"
