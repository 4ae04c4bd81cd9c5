"""docs/reference/ is the server's API as it is: regenerate it with ``make docs-api``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def test_generated_api_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("make_openapi", REFERENCE / "make_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.rendered().items():
        assert (REFERENCE / name).read_text() == text, f"{name} is stale: run make docs-api"
