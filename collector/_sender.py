"""Drains the spool to the server, oldest batch first.

Classifies every answer before retrying (as the OpenTelemetry Collector's exporterhelper
does): 2xx → delete; 429/502/503/504, other 5xx, 408 and network errors → keep and back off
(exponential with full jitter, at least ``Retry-After`` when the server gives one); any other
4xx (400, 413, 401 ...) → final, the batch moves to quarantine and is counted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping

from edgewatch.collector import semconv
from edgewatch.collector._ratelimit import RateLimitedLog
from edgewatch.collector._spool import LOGS, UNREADABLE, Spool, SpooledBatch
from edgewatch.collector._types import Transport, TransportResponse

_log = RateLimitedLog(logging.getLogger("edgewatch.collector"))

RETRYABLE_4XX = frozenset({408, 429})
MAX_RETRY_AFTER_S = 3600.0
"""A longer ``Retry-After`` is clamped: a device should not go silent for a day on one header."""


class Sender:
    """Sends spooled batches with retries; all timing goes through the injected clock and sleep."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float = 10.0,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.spool = spool
        self.transport = transport
        self.url = url
        self.logs_url = signal_url(url, semconv.LOGS_PATH)
        self.headers = dict(headers)
        self.timeout_s = timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retry_at = float("-inf")
        """Monotonic time before which no batch is sent (the current backoff)."""
        self.failures_in_a_row = 0
        self.sent = 0
        self.failed = 0
        self.last_success_unix: float | None = None

    def send_ready(self, deadline: float | None = None) -> None:
        """Send oldest first until the spool is empty, a send fails, or ``deadline`` passes."""
        while True:
            now = self._clock()
            if now < self.retry_at or (deadline is not None and now >= deadline):
                return
            batch = self.spool.oldest()
            if batch is None:
                return
            timeout = self.timeout_s if deadline is None else min(self.timeout_s, deadline - now)
            if not self._send_one(batch, timeout):
                return

    def drain(self, timeout_s: float) -> bool:
        """Send everything, waiting out backoffs that end within ``timeout_s``; True when empty."""
        deadline = self._clock() + timeout_s
        while True:
            self.send_ready(deadline)
            if self.spool.depth == 0:
                return True
            now = self._clock()
            if self.retry_at >= deadline or now >= deadline:
                return False
            self._sleep(max(0.0, self.retry_at - now))

    def _send_one(self, batch: SpooledBatch, timeout_s: float) -> bool:
        try:
            body = self.spool.read(batch)
        except OSError as e:
            _log.warning("spool-read", "cannot read spooled batch %s: %r", batch.path.name, e)
            self.spool.remove(batch, lost=UNREADABLE)
            return True
        headers = {**self.headers, semconv.IDEMPOTENCY_KEY_HEADER: batch.key}
        try:
            url = self.logs_url if batch.signal == LOGS else self.url
            response = self.transport.post(url, body, headers, timeout_s)
        except Exception as e:  # OSError by contract; anything else is a transport bug
            self._transient(None, f"{type(e).__name__}: {e}")
            return False
        if 200 <= response.status < 300:
            self.spool.remove(batch)
            self.sent += 1
            self.failures_in_a_row = 0
            self.retry_at = float("-inf")
            self.last_success_unix = self._wall_clock()
            return True
        if 400 <= response.status < 500 and response.status not in RETRYABLE_4XX:
            _log.warning(
                "rejected",
                "server rejected batch %s with HTTP %d (quarantined): %r",
                batch.key,
                response.status,
                response.body[:200],
            )
            self.spool.quarantine(batch)
            return True
        self._transient(response, f"HTTP {response.status}")
        return False

    def _transient(self, response: TransportResponse | None, what: str) -> None:
        self.failed += 1
        self.failures_in_a_row += 1
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (self.failures_in_a_row - 1))
        delay = self._rng.uniform(0.0, ceiling)
        retry_after = self._retry_after(response)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self.retry_at = self._clock() + delay
        _log.warning("send", "export to %s failed (%s); retrying in %.1f s", self.url, what, delay)

    def _retry_after(self, response: TransportResponse | None) -> float | None:
        """``Retry-After`` as seconds (delay-seconds or an HTTP date), on 429 and 503 only."""
        if response is None or response.status not in (429, 503):
            return None
        value = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return min(float(value), MAX_RETRY_AFTER_S)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return min(max(0.0, when.timestamp() - self._wall_clock()), MAX_RETRY_AFTER_S)


def signal_url(metrics_url: str, path: str) -> str:
    """``path`` (e.g. ``/v1/logs``) on the server that ``metrics_url`` (``.../v1/metrics``) names."""
    base = metrics_url.removesuffix(semconv.METRICS_PATH)
    return base + path
