"""Transports for the demo devices: a small stdlib HTTP transport, and a wrapper that makes a
device's network fail during an ``offline`` incident so its collector spools and catches up."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from edgewatch.collector import Transport, TransportResponse


class SimulatedOutageError(ConnectionError):
    """Raised by ``FailingTransport`` while the simulated outage lasts."""


class HttpTransport:
    """POSTs with ``http.client``, one connection per request; network errors raise ``OSError``."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> TransportResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot post to {url!r}: expected an http(s) URL")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            return TransportResponse(
                status=response.status,
                headers={k.lower(): v for k, v in response.getheaders()},
                body=response.read(),
            )
        except http.client.HTTPException as e:
            raise ConnectionError(f"bad HTTP exchange with {parts.netloc}: {e!r}") from e
        finally:
            connection.close()


class FailingTransport:
    """Delegates to ``inner`` except while ``offline()`` is true, when it raises ``SimulatedOutageError``
    (an ``OSError``, as a real dropped link would) without touching the network."""

    def __init__(self, inner: Transport, offline: Callable[[], bool]) -> None:
        self._inner = inner
        self._offline = offline
        self._lock = threading.Lock()
        self._failed = 0
        self._sent = 0

    @property
    def failed(self) -> int:
        """Posts refused because the device was offline."""
        return self._failed

    @property
    def sent(self) -> int:
        """Posts handed to the inner transport."""
        return self._sent

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> TransportResponse:
        if self._offline():
            with self._lock:
                self._failed += 1
            raise SimulatedOutageError(f"simulated outage: device offline, {url} unreachable")
        with self._lock:
            self._sent += 1
        return self._inner.post(url, body, headers, timeout_s)
