"""The OpenAPI document says what the server does: every error status an operation can
answer with the body it carries, the bearer scheme, and which operations need a token.

The statuses are derived from each route's dependencies (the code that raises them: the
admin token check, the store, alerting, parameters, path ids, uploads), so a new route
declares its errors by using the shared dependencies; a route raising one more itself lists
it in ``responses=``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from edgewatch.contract import ErrorOut, ValidationErrorOut
from edgewatch.server.api import deps
from edgewatch.server.api.routes import dependency_calls

REASONS = {
    400: "the request is invalid; the detail names the parameter and why",
    401: "no bearer token, or an unknown, wrong or revoked one",
    403: "the token may not do this (a device token on the admin API, or another device's data)",
    404: "no such thing (the detail names it)",
    409: "conflicts with the current state",
    413: "the body or upload is larger than the server accepts",
    415: "the content type is not one the server reads",
    422: "the parameters or body fail validation, or a domain check refused them",
    429: "too many failed authentications from this address; see Retry-After",
    503: "the store is busy or closed, or alerting is off; see Retry-After when retrying helps",
}
BEARER = "bearer"
_SCHEMAS = "#/components/schemas/"


def _params(dependant: Dependant) -> bool:
    """Whether the route reads query parameters or a body (which validation may refuse)."""
    if dependant.query_params or dependant.body_params:
        return True
    return any(_params(d) for d in dependant.dependencies)


def error_statuses(route: APIRoute) -> set[int]:
    """The error statuses a route can answer, from the dependencies it uses."""
    calls = set(dependency_calls(route.dependant))
    out: set[int] = set()
    if deps.admin_principal in calls:
        out |= {401, 403, 429}
    if deps.get_store in calls or deps.get_alerting in calls:
        out.add(503)
    if route.dependant.path_params or (deps.get_store in calls and _params(route.dependant)):
        out.add(404)  # a path id, or a name a parameter gives (a metric, a model) not found
    if _params(route.dependant):  # FastAPI's validation, and the store's InvalidQueryError
        out |= {400, 422}
    if any(isinstance(p.field_info, params.File) for p in route.dependant.body_params):
        out.add(413)
    return out


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _SCHEMAS + ref}}}


def _declare(op: dict[str, Any], route: APIRoute) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    declared = {int(k) for k in responses if k.isdigit() and int(k) >= 400}
    for status in sorted(error_statuses(route) | declared):
        entry = responses.setdefault(str(status), {"description": REASONS.get(status, "")})
        content = entry.get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        if status == 422:
            if not ref or ref.endswith("/HTTPValidationError"):
                entry["content"] = _json(ValidationErrorOut.__name__)
                entry["description"] = REASONS[422]
            elif _params(route.dependant):  # a domain body beside FastAPI's validation list
                entry["content"] = {
                    "application/json": {
                        "schema": {
                            "anyOf": [{"$ref": ref}, {"$ref": _SCHEMAS + "ValidationErrorOut"}]
                        }
                    }
                }
        elif "content" not in entry:
            entry["content"] = _json(ErrorOut.__name__)
    if "401" in responses:
        op["security"] = [{BEARER: []}]


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Complete ``app``'s OpenAPI document for the routes of ``routers`` once, when first
    asked for it."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        components = spec.setdefault("components", {})
        _, defs = models_json_schema(
            [(ErrorOut, "serialization"), (ValidationErrorOut, "serialization")],
            ref_template=_SCHEMAS + "{model}",
        )
        schemas = components.setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "an admin token, or a device token for ingest and its config",
            }
        }
        for route in routes:
            if not route.include_in_schema:
                continue
            for method in route.methods or ():
                op = spec["paths"].get(route.path_format, {}).get(method.lower())
                if op is not None:
                    _declare(op, route)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
