"""HTTP receivers: they send a delivery's body and classify the answer, never raising.

The generic webhook signs every attempt per Standard Webhooks; Slack and Alertmanager get
plain JSON. Error texts and logs name the receiver, never its URL or secret.
"""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx

from edgewatch.contract import is_naive

from ._config import ReceiverConfig, ReceiverKind
from ._delivery import Attempt, Delivery, Outcome, classify_status
from ._signing import secret_key, signature_headers
from ._time import require_aware

__all__ = ["HttpReceiver", "Receiver", "build_receivers", "parse_retry_after"]

_log = logging.getLogger("edgewatch.server.alert")
_USER_AGENT = "edgewatch-alerting/0.1"
_ERROR_SNIPPET = 200


@runtime_checkable
class Receiver(Protocol):
    """Sends one delivery and reports how it went; must not raise."""

    @property
    def name(self) -> str:
        """The receiver's configured name."""

    def send(self, delivery: Delivery, now: datetime) -> Attempt:
        """One attempt at ``now``."""

    def close(self) -> None:
        """Release connections."""


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if is_naive(when):
        return None
    return max(0.0, (when - now).total_seconds())


def _endpoint(config: ReceiverConfig) -> str:
    if config.kind is ReceiverKind.ALERTMANAGER and not config.url.rstrip("/").endswith(
        "/api/v2/alerts"
    ):
        return config.url.rstrip("/") + "/api/v2/alerts"
    return config.url


class HttpReceiver:
    """A receiver of any kind over HTTP(S) with its own connection pool and timeout."""

    def __init__(self, config: ReceiverConfig, *, transport: httpx.BaseTransport | None = None):
        if config.kind is ReceiverKind.WEBHOOK:
            if config.secret is None:
                raise ValueError(f"receiver {config.name!r}: a webhook receiver needs a secret")
            secret_key(config.secret)
        self._config = config
        self._url = _endpoint(config)
        self._client = httpx.Client(
            timeout=config.timeout_s,
            follow_redirects=False,
            transport=transport,
            headers={"user-agent": _USER_AGENT, "content-type": "application/json"},
        )

    @property
    def name(self) -> str:
        return self._config.name

    def __repr__(self) -> str:
        return f"HttpReceiver(name={self._config.name!r}, kind={self._config.kind.value!r})"

    def send(self, delivery: Delivery, now: datetime) -> Attempt:
        now = require_aware(now, "now")
        body = delivery.body.encode()
        headers: dict[str, str] = {}
        if self._config.kind is ReceiverKind.WEBHOOK and self._config.secret is not None:
            headers = signature_headers(
                self._config.secret, delivery.id, int(now.timestamp()), body
            )
        started = time.monotonic()
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.TransportError as e:
            error = f"{type(e).__name__}: {self._scrub(str(e)) or 'no detail'}"
            _log.warning("receiver %s: delivery %s failed: %s", self.name, delivery.id, error)
            return Attempt(now, Outcome.RETRYABLE, None, error, time.monotonic() - started)
        duration = time.monotonic() - started
        outcome = classify_status(response.status_code)
        if outcome is Outcome.DELIVERED:
            return Attempt(now, outcome, response.status_code, None, duration)
        snippet = self._scrub(response.text[:_ERROR_SNIPPET].strip())
        error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        _log.warning("receiver %s: delivery %s answered %s", self.name, delivery.id, error)
        return Attempt(now, outcome, response.status_code, error, duration, retry_after)

    def _scrub(self, text: str) -> str:
        """Remove the URL (which may embed a token, as Slack's do) and the secret from text."""
        for secret in (self._url, self._config.url, self._config.secret):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    def close(self) -> None:
        self._client.close()


def build_receivers(
    configs: list[ReceiverConfig] | tuple[ReceiverConfig, ...],
) -> dict[str, HttpReceiver]:
    """One :class:`HttpReceiver` per config, by name."""
    return {c.name: HttpReceiver(c) for c in configs}
