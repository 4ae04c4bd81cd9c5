"""Write the REST API reference from the server's routes: ``openapi.json`` and its Markdown
rendering ``api-reference.md``, both in this folder.

``make docs-api`` runs it; tests/server/test_openapi_reference.py fails when either is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from edgewatch.server.app import create_app
from edgewatch.server.settings import Settings

HERE = Path(__file__).resolve().parent
METHODS = ("get", "post", "put", "delete", "patch")


def openapi() -> dict[str, Any]:
    """The OpenAPI document of a server built with default settings (nothing is opened)."""
    return create_app(Settings()).openapi()


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    return str(schema.get("type", "any"))


def markdown(spec: dict[str, Any]) -> str:
    """One section per path and method: summary, parameters, request body, answers."""
    lines = [
        "# REST API reference (generated)",
        "",
        "Generated from the server's OpenAPI document by `docs/reference/make_openapi.py`",
        "(`make docs-api`); do not edit by hand. The guide with examples is [../api.md](../api.md);",
        "the machine-readable document is [openapi.json](openapi.json).",
        "",
    ]
    for path, item in sorted(spec["paths"].items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            lines += [f"## `{method.upper()} {path}`", "", op.get("summary", ""), ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | type | required |", "|---|---|---|---|"]
                for p in params:
                    required = "yes" if p.get("required") else "no"
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {required} |"
                    )
                lines.append("")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in sorted(body.items()):
                lines += [f"Request body: `{media}` {_type(content.get('schema', {}))}", ""]
            answers = ", ".join(
                f"`{code}` {resp.get('description', '')}".rstrip()
                for code, resp in sorted(op.get("responses", {}).items())
            )
            lines += [f"Answers: {answers}", ""]
    return "\n".join(lines).rstrip() + "\n"


def rendered() -> dict[str, str]:
    """File name → generated text."""
    spec = openapi()
    return {
        "openapi.json": json.dumps(spec, indent=2, sort_keys=True) + "\n",
        "api-reference.md": markdown(spec),
    }


def main() -> int:
    for name, text in rendered().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
