"""Per-source limits on failed authentications: a token bucket of failures per client address.

A source that keeps presenting wrong tokens is answered 429 with ``Retry-After`` before its
token is even checked, so guessing is slow and costs the server nothing; tokens already
verified (cached) still pass, so a device behind the same address that authenticated before
keeps sending. Bounded in memory: the least recently failing sources are forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class AuthFailureLimiter:
    """``burst`` failures at once per source, refilled at ``per_minute`` a minute."""

    def __init__(self, *, per_minute: float, burst: int, max_sources: int = 10_000) -> None:
        if per_minute <= 0 or burst < 1 or max_sources < 1:
            raise ValueError(
                f"per_minute must be > 0, burst and max_sources >= 1;"
                f" got {per_minute}, {burst}, {max_sources}"
            )
        self.per_s = per_minute / 60.0
        self.burst = burst
        self.max_sources = max_sources
        self._lock = threading.Lock()
        self._sources: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """source → (failures left, monotonic time of that count)"""

    def _left(self, source: str, now: float) -> float:
        left, at = self._sources.get(source, (float(self.burst), now))
        return min(float(self.burst), left + (now - at) * self.per_s)

    def retry_after_s(self, source: str) -> float | None:
        """Seconds until ``source`` may try again, or ``None`` when it may try now."""
        with self._lock:
            left = self._left(source, time.monotonic())
        return None if left >= 1.0 else (1.0 - left) / self.per_s

    def record_failure(self, source: str) -> None:
        """Spend one of ``source``'s failures."""
        with self._lock:
            now = time.monotonic()
            self._sources[source] = (max(0.0, self._left(source, now) - 1.0), now)
            self._sources.move_to_end(source)
            while len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
