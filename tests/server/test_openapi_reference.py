"""docs/reference/ is the server's API as it is (regenerate it with ``make docs-api``), and
that API says what it answers: a schema for every success body, every error status an
operation can produce with its body, the bearer scheme, the deprecated parameter names."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from edgewatch.server.app import create_app
from edgewatch.server.settings import Settings

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def test_generated_api_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("make_openapi", REFERENCE / "make_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.rendered().items():
        assert (REFERENCE / name).read_text() == text, f"{name} is stale: run make docs-api"


def _spec() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v1/")
    ]


def test_no_api_operation_answers_a_bare_object() -> None:
    spec = _spec()
    bare = []
    for path, method, op in _operations(spec):
        ok = [v for k, v in op["responses"].items() if k.startswith("2")]
        for response in ok:
            for media, content in response.get("content", {}).items():
                schema = _resolve(spec, content.get("schema", {}))
                if media == "application/json" and not (
                    schema.get("properties") or schema.get("items")
                ):
                    bare.append(f"{method.upper()} {path}: {schema}")
        assert ok, f"{method.upper()} {path} declares no success answer"
    assert bare == []


def test_every_api_operation_declares_the_errors_it_can_answer() -> None:
    """Admin operations: 401/403/429 from the token check, 503 from the store; a path id:
    404; parameters or a body: 400 (the store's checks) and 422 (validation). Each error
    body has a schema: ``ErrorOut``, or ``ValidationErrorOut`` for 422."""
    spec = _spec()
    missing = []
    for path, method, op in _operations(spec):
        params = op.get("parameters", [])
        expected = {"401", "403", "429", "503"}
        if any(p["in"] == "path" for p in params):
            expected.add("404")
        if any(p["in"] == "query" for p in params) or "requestBody" in op:
            expected |= {"400", "422"}
        lacking = expected - set(op["responses"])
        if lacking:
            missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
        for status, response in op["responses"].items():
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                refs = [s.get("$ref", "") for s in schema.get("anyOf", [schema])]
                wanted = "ValidationErrorOut" if status == "422" else "ErrorOut"
                assert any(r.endswith(("/" + wanted, "/ProblemsOut")) for r in refs), (
                    f"{method.upper()} {path} {status}: {schema}"
                )
        assert op.get("security") == [{"bearer": []}], f"{method.upper()} {path}"
    assert missing == []
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_old_parameter_names_are_marked_deprecated() -> None:
    spec = _spec()
    series = {p["name"]: p for p in spec["paths"]["/api/v1/series"]["get"]["parameters"]}
    for old, new in (("start", "from"), ("end", "to"), ("device_id", "device")):
        assert series[old].get("deprecated") is True
        assert "deprecated" not in series[new]
    for new in ("model", "version", "fleet"):
        assert new in series


def test_otlp_bodies_and_the_metrics_exposition_are_described() -> None:
    spec = _spec()
    for path in ("/v1/metrics", "/v1/logs"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]
        assert set(body) == {"application/x-protobuf", "application/json"}
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {
        "text/plain",
        "application/openmetrics-text",
    }


NUMERIC = {"number", "integer"}
TIME_WORDS = ("_at", "_unix", "first_seen", "last_seen", "start", "end", "time", "_from", "_to")
"""Field names that say "an instant": none of them may be a number in an answer."""


def _instant_name(name: str) -> bool:
    return name.endswith(TIME_WORDS) or name in {"from", "to", "at", "time"}


def _numeric_times(
    spec: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]
) -> list[str]:
    """Fields of ``schema`` (and everything it contains) named for an instant but typed as a
    number, except deprecated ones (kept one release for old clients)."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        seen = seen | {ref}
        schema = _resolve(spec, schema)
    found = []
    for name, field in schema.get("properties", {}).items():
        types = {field.get("type")} | {x.get("type") for x in field.get("anyOf", [])}
        if _instant_name(name) and types & NUMERIC and not field.get("deprecated"):
            found.append(f"{where}.{name}")
        found += _numeric_times(spec, field, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _numeric_times(spec, schema[key], f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            found += _numeric_times(spec, sub, f"{where}<{i}>", seen)
    return found


def test_every_answer_writes_instants_as_rfc3339() -> None:
    spec = _spec()
    numeric = []
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            for content in response.get("content", {}).values():
                where = f"{method.upper()} {path} {status}"
                numeric += _numeric_times(spec, content.get("schema", {}), where, set())
    assert numeric == []
    series = _resolve(spec, {"$ref": "#/components/schemas/SeriesOut"})
    point = series["properties"]["points"]["items"]
    first = {"type": "string", "format": "date-time", "description": "RFC 3339"}
    assert point["items"]["anyOf"] == [first, {"type": "number"}]
    assert "prefixItems" not in point  # schemathesis 4.32 cannot check answers against it


def test_the_rule_catches_a_time_sent_as_a_number() -> None:
    spec = {"components": {"schemas": {"X": {"properties": {"last_seen": {"type": "number"}}}}}}
    assert _numeric_times(spec, {"$ref": "#/components/schemas/X"}, "x", set()) == ["x.last_seen"]
