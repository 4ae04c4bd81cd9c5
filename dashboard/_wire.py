"""How the client writes requests and reads failures: path segments, RFC 3339 times, the
server's reason for an error answer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx


def rfc3339(t: datetime) -> str:
    """``t`` as the RFC 3339 UTC text the alerting API takes."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def segment(value: str) -> str:
    """``value`` escaped as one URL path segment."""
    return quote(value, safe="")


def transport_reason(e: httpx.TransportError) -> str:
    if isinstance(e, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(e).__name__


def error_detail(r: httpx.Response) -> str:
    """The server's reason for an error answer, readable."""
    try:
        data = r.json()
    except ValueError:
        return r.reason_phrase or f"HTTP {r.status_code}"
    if isinstance(data, dict):
        if "errors" in data and isinstance(data["errors"], list):
            return "; ".join(str(x) for x in data["errors"])
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
    return str(data)
