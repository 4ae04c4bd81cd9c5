"""Polls the server for this device's sampling budget, on the collector thread.

A slow interval (minutes); after a failure it waits longer each time (up to an hour) and keeps
the last good answer, so a server that is down or answers nonsense changes nothing on the
device. Never raises: the caller only learns whether a new ``RemoteSampling`` arrived.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from edgewatch.collector._ratelimit import RateLimitedLog
from edgewatch.collector._sampling import RemoteSampling

_log = RateLimitedLog(logging.getLogger("edgewatch.collector"))
MAX_CONFIG_BYTES = 64 * 1024
MAX_BACKOFF_S = 3600.0

Fetch = Callable[[str, Mapping[str, str], float], tuple[int, bytes]]
"""``fetch(url, headers, timeout_s) -> (status, body)``; raises ``OSError`` on network failure."""


def http_get(url: str, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
    """One GET with the standard library (a fresh connection: polls are minutes apart)."""
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        conn.request("GET", parts.path or "/", headers=dict(headers))
        response = conn.getresponse()
        return response.status, response.read(MAX_CONFIG_BYTES)
    except http.client.HTTPException as e:
        raise ConnectionError(f"bad HTTP response from {parts.netloc}: {e!r}") from e
    finally:
        conn.close()


class ConfigPoller:
    """Fetches ``url`` when due; ``current`` is the last good answer (``None`` before one)."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        interval_s: float,
        timeout_s: float,
        *,
        fetch: Fetch = http_get,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.headers = {
            k: v for k, v in headers.items() if k.lower() in ("authorization", "user-agent")
        }
        self.headers["Accept"] = "application/json"
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._fetch = fetch
        self._clock = clock
        self._rng = rng or random.Random()
        self.next_at = clock()
        """Monotonic time of the next poll (the first one is due at once)."""
        self.current: RemoteSampling | None = None
        self.failures_in_a_row = 0
        self.polls = 0
        self.errors = 0

    def poll_if_due(self) -> bool:
        """Poll when due; True when a new configuration was accepted."""
        now = self._clock()
        if now < self.next_at:
            return False
        self.polls += 1
        try:
            status, body = self._fetch(self.url, self.headers, self.timeout_s)
            if status != 200:
                raise ValueError(f"HTTP {status}: {body[:200]!r}")
            config = RemoteSampling.parse(json.loads(body))
        except Exception as e:  # OSError, bad JSON, bad fields: keep the last good config
            self.errors += 1
            self.failures_in_a_row += 1
            delay = min(MAX_BACKOFF_S, self.interval_s * 2.0**self.failures_in_a_row)
            self.next_at = self._clock() + self._rng.uniform(0.5, 1.0) * delay
            _log.warning(
                "config", "edgewatch could not fetch %s (%r); keeping the last config", self.url, e
            )
            return False
        self.failures_in_a_row = 0
        self.next_at = self._clock() + self.interval_s
        changed = config != self.current
        self.current = config
        return changed
