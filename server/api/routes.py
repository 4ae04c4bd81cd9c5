"""The route class of the REST API: an admin route that reads a body checks the admin token
before FastAPI parses the body, so a caller without one gets the declared 401 or 403, never
a 400 or 422 about a body it may not send."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from edgewatch.server.api.deps import admin_principal, get_settings, get_store


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency function a route uses, however deeply nested."""
    for d in dependant.dependencies:
        if d.call is not None:
            yield d.call
        yield from dependency_calls(d)


class AdminFirstRoute(APIRoute):
    """An ``APIRoute`` whose handler runs the admin check before the body is read, when the
    route has a body and depends on :func:`admin_principal` (which then finds the token in
    its cache)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or admin_principal not in set(dependency_calls(self.dependant)):
            return handler

        async def admin_first(request: Request) -> Response:
            store, settings = get_store(request), get_settings(request)
            # verifying an uncached token reads the database: off the event loop
            await run_in_threadpool(admin_principal, request, store, settings)
            return await handler(request)

        return admin_first
