"""The default transport: one HTTP(S) POST per batch with the standard library's ``http.client``."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from urllib.parse import urlsplit

from edgewatch.collector._types import TransportResponse

MAX_RESPONSE_BYTES = 64 * 1024
"""Only the head of a response body is read: the status and headers decide what happens."""


class HttpTransport:
    """Posts with a fresh connection per batch (one batch per interval does not need pooling)."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> TransportResponse:
        parts = urlsplit(url)
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn = conn_cls(parts.hostname or "", parts.port, timeout=timeout_s)
        try:
            conn.request("POST", path, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read(MAX_RESPONSE_BYTES)
            return TransportResponse(
                status=response.status,
                headers={k.lower(): v for k, v in response.getheaders()},
                body=data,
            )
        except http.client.HTTPException as e:  # a malformed or cut-off answer: retry later
            raise ConnectionError(f"bad HTTP response from {parts.netloc}: {e!r}") from e
        finally:
            conn.close()
