"""The one HTTP client of the edgewatch REST API, used by the dashboard and every CLI command.

It knows where the server is (``EDGEWATCH_SERVER``/``EDGEWATCH_TOKEN`` unless told), sends
the bearer token, translates transport failures and error statuses into the
:class:`~edgewatch.contract.ApiError` tree with a message a person can act on, and reads
answers into the contract's models. ``transport`` takes an ``httpx.MockTransport`` so tests
can give answers a real server never gives.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from edgewatch.contract._errors import (
    AlertingDisabledError,
    ApiError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
    ServerError,
    ServerUnreachableError,
    ThrottledError,
    UnauthorizedError,
)

ENV_SERVER = "EDGEWATCH_SERVER"
"""Base URL of the edgewatch server the CLI talks to."""
ENV_TOKEN = "EDGEWATCH_TOKEN"
"""An admin token of that server."""
DEFAULT_SERVER = "http://127.0.0.1:4318"
ALERTING_OFF = "alerting is not running"
"""The server's 503 reason on alerting endpoints when it runs with ``alerting: false``."""

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, Any]


def segment(value: str) -> str:
    """``value`` escaped as one URL path segment."""
    return quote(value, safe="")


def _transport_reason(e: httpx.TransportError) -> str:
    if isinstance(e, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(e).__name__


def error_detail(r: httpx.Response) -> str:
    """The server's reason for an error answer, readable: ``detail``, FastAPI's list of
    refused fields, or an upload's ``errors`` (with the column and row they name)."""
    try:
        data = r.json()
    except ValueError:
        return r.text[:500] or r.reason_phrase or f"HTTP {r.status_code}"
    if not isinstance(data, dict):
        return str(data)
    if isinstance(data.get("errors"), list):
        parts = []
        for e in data["errors"]:
            if isinstance(e, dict):
                where = ", ".join(f"{k} {e[k]}" for k in ("column", "row") if e.get(k) is not None)
                parts.append(str(e.get("message", e)) + (f" ({where})" if where else ""))
            else:
                parts.append(str(e))
        return "; ".join(parts)
    detail = data.get("detail", data)
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(x) for x in item.get("loc", ()) if x != "body")
                parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _query(params: Params | Iterable[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    """Query pairs without ``None`` or empty values; a list value repeats its parameter."""
    items = params.items() if isinstance(params, Mapping) else (params or ())
    pairs: list[tuple[str, Any]] = []
    for key, value in items:
        for v in value if isinstance(value, list | tuple) else (value,):
            if v is not None and v != "":
                pairs.append((key, v))
    return pairs


def _retry_after_s(r: httpx.Response) -> float | None:
    try:
        return float(r.headers.get("retry-after", ""))
    except ValueError:
        return None


class ApiClient:
    """One server, one token. Use as a context manager or call ``close()``."""

    def __init__(
        self,
        server_url: str,
        token: str | None,
        *,
        timeout_s: float = 30.0,
        write_timeout_s: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = server_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"server URL {server_url!r} must start with http:// or https://")
        self.server_url = url
        headers = {"Accept": "application/json"}
        if token and token.strip():
            headers["Authorization"] = f"Bearer {token.strip()}"
        self._http = httpx.Client(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, write=write_timeout_s or timeout_s),
            transport=transport,
        )

    @classmethod
    def from_env(
        cls,
        server_url: str | None = None,
        token: str | None = None,
        *,
        timeout_s: float = 30.0,
        write_timeout_s: float | None = None,
    ) -> ApiClient:
        """A client of ``server_url`` (else ``$EDGEWATCH_SERVER``, else the local default)
        with ``token`` (else ``$EDGEWATCH_TOKEN``)."""
        return cls(
            server_url or os.environ.get(ENV_SERVER) or DEFAULT_SERVER,
            token or os.environ.get(ENV_TOKEN),
            timeout_s=timeout_s,
            write_timeout_s=write_timeout_s,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | Iterable[tuple[str, Any]] | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The server's answer; transport failures and error statuses raise ``ApiError``s.
        ``None`` and empty parameters are left out."""
        clean = _query(params)
        what = f"{method} {path}"
        try:
            r = self._http.request(
                method, path, params=clean, json=json, content=content, headers=headers
            )
        except httpx.TimeoutException:
            raise ServerUnreachableError(
                f"the edgewatch server at {self.server_url} did not answer {what} in time"
            ) from None
        except httpx.TransportError as e:
            raise ServerUnreachableError(
                f"cannot reach the edgewatch server at {self.server_url} "
                f"({_transport_reason(e)}). Is it running? Start it with `edgewatch server`, "
                "or pass the right --server URL."
            ) from None
        if r.status_code >= 400:
            raise self._error(r, what)
        return r

    def _error(self, r: httpx.Response, what: str) -> ApiError:
        detail = error_detail(r)
        status = r.status_code
        if status == 401:
            return UnauthorizedError(
                f"the server at {self.server_url} refused the token ({detail}). Pass an admin "
                "token: create one with `edgewatch token create --admin`."
            )
        if status == 403:
            return UnauthorizedError(
                f"this token may not do {what} ({detail}). "
                "The admin API needs an admin token, not a device token."
            )
        if status == 404:
            if detail == "Not Found":  # FastAPI's answer for a path it has no route for
                path = r.request.url.path
                return NotFoundError(f"this server has no {path} endpoint", missing_endpoint=path)
            return NotFoundError(detail)
        if status == 503 and ALERTING_OFF in detail:
            return AlertingDisabledError(
                f"the server at {self.server_url} runs with alerting switched off ({detail})"
            )
        if status in (429, 503):
            return ThrottledError(
                f"the server is busy with {what} (HTTP {status}): {detail}",
                retry_after_s=_retry_after_s(r),
            )
        if 400 <= status < 500:
            return RequestRejectedError(f"the server refused {what} (HTTP {status}): {detail}")
        return ServerError(f"the server failed on {what} (HTTP {status}): {detail}")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON (``None`` for an empty answer)."""
        r = self.request(method, path, **kwargs)
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise MalformedResponseError(
                f"{self.server_url} answered {method} {path} with something that is not JSON: "
                "is this URL an edgewatch server?"
            ) from None

    def call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        """The answer read as ``model``; ``MalformedResponseError`` naming the field when it
        does not fit."""
        data = self.json(method, path, **kwargs)
        return self.parse(model, data, f"{method} {path}")

    def get(self, model: type[M], path: str, params: Params | None = None) -> M:
        """``GET path`` read as ``model``."""
        return self.call(model, "GET", path, params=params)

    def parse(self, model: Any, data: Any, what: str) -> Any:
        """``data`` read as ``model`` (a model class or a type such as ``list[TokenOut]``),
        or ``MalformedResponseError`` naming the field, what it should be and what came."""
        try:
            return TypeAdapter(model).validate_python(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in first["loc"])
            got = f", got {first['input']!r}" if "input" in first else ""
            raise MalformedResponseError(
                f"the server at {self.server_url} sent an answer this client cannot read "
                f"({what}: answer{where}: {first['msg']}{got}). Are client and server the "
                "same edgewatch version?"
            ) from None

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: Params | None = None
    ) -> Iterator[httpx.Response]:
        """The answer with its body not yet read (for large downloads); error statuses and
        transport failures raise ``ApiError``s like :meth:`request`."""
        what = f"{method} {path}"
        try:
            with self._http.stream(method, path, params=_query(params)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise self._error(r, what)
                yield r
        except httpx.TimeoutException:
            raise ServerUnreachableError(
                f"the edgewatch server at {self.server_url} did not answer {what} in time"
            ) from None
        except httpx.TransportError as e:
            raise ServerUnreachableError(
                f"cannot reach the edgewatch server at {self.server_url} ({_transport_reason(e)})"
            ) from None

    def ready(self) -> httpx.Response:
        """``GET /readyz`` as answered (no token needed; 503 while not ready)."""
        try:
            return self._http.get("/readyz")
        except httpx.TransportError as e:
            raise ServerUnreachableError(
                f"cannot reach the edgewatch server at {self.server_url} ({_transport_reason(e)})"
            ) from None
