"""Durable drop counters: everything the device lost, counted beside the spool.

Counts that travel only inside batches are lost with the batches a long outage drops, and
restart at 0 with the process. These live in ``<spool_dir>/drops.json`` (temp file → fsync →
rename, like the spool) and are cumulative since the file was created: inferences lost by
reason (the recorder's reasons, plus those of batches the spool dropped), batches lost by
reason, and the time of the last loss. Once anything was lost, every metrics batch carries the
totals as gauges, so the newest batch the server receives says how much the device lost so far.

A missing file starts at 0; a damaged one starts from what can be read of it. Nothing here
raises: a failed write keeps the counts in memory and is retried with the next loss.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgewatch.collector._ratelimit import RateLimitedLog
from edgewatch.collector._spool import write_durably

_log = RateLimitedLog(logging.getLogger("edgewatch.collector"))
FILE_NAME = "drops.json"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class DropTotals:
    """Cumulative losses of a device since its counters began."""

    inferences: Mapping[str, int] = field(default_factory=dict)
    """Inferences not recorded or lost with their batch, by reason."""
    batches: Mapping[str, int] = field(default_factory=dict)
    """Spooled batches (metrics and sampled rows) lost, by reason."""
    last_drop_unix: float | None = None

    @property
    def empty(self) -> bool:
        return not any(self.inferences.values()) and not any(self.batches.values())


class DropCounters:
    """The durable counters of one spool directory (see module docstring); thread-safe."""

    def __init__(
        self, directory: str | Path, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(directory) / FILE_NAME
        self._clock = wall_clock
        self._lock = threading.Lock()
        self._inferences: dict[str, int] = {}
        self._batches: dict[str, int] = {}
        self._last_drop_unix: float | None = None
        self.write_errors = 0
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError, RecursionError) as e:
            _log.warning("drops-load", "edgewatch drop counters unreadable, starting at 0: %r", e)
            return
        if not isinstance(data, dict):
            _log.warning("drops-load", "edgewatch drop counters malformed, starting at 0")
            return
        self._inferences = _counts(data.get("inferences"))
        self._batches = _counts(data.get("batches"))
        last = data.get("last_drop_unix")
        if isinstance(last, int | float) and not isinstance(last, bool) and math.isfinite(last):
            self._last_drop_unix = float(last)

    def totals(self) -> DropTotals:
        with self._lock:
            return DropTotals(dict(self._inferences), dict(self._batches), self._last_drop_unix)

    def add_inferences(self, by_reason: Mapping[str, int]) -> None:
        """Inferences the recorder dropped over an interval (persisted once per call)."""
        counts = {r: int(n) for r, n in by_reason.items() if n > 0}
        if not counts:
            return
        with self._lock:
            for reason, n in counts.items():
                self._inferences[reason] = self._inferences.get(reason, 0) + n
            self._save_locked()

    def add_batch(self, reason: str, inferences: int = 0) -> None:
        """One lost batch and the inferences it held."""
        with self._lock:
            self._batches[reason] = self._batches.get(reason, 0) + 1
            if inferences > 0:
                self._inferences[reason] = self._inferences.get(reason, 0) + inferences
            self._save_locked()

    def _save_locked(self) -> None:
        self._last_drop_unix = self._clock()
        body = {
            "format": _FORMAT,
            "inferences": self._inferences,
            "batches": self._batches,
            "last_drop_unix": self._last_drop_unix,
        }
        try:
            write_durably(self.path, json.dumps(body, sort_keys=True).encode())
        except OSError as e:  # kept in memory; the next loss writes the file again
            self.write_errors += 1
            _log.warning("drops-save", "edgewatch could not save drop counters: %r", e)


def _counts(value: Any) -> dict[str, int]:
    """The readable ``reason -> count`` entries of a loaded mapping; the rest is ignored."""
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v
        for k, v in value.items()
        if isinstance(v, int) and not isinstance(v, bool) and v > 0
    }
