"""The Monitor's sampled-rows part: reservoir, budget from the server, and the ``/v1/logs`` batch.

Runs on the collector thread, except ``sampler.offer`` which the inference path calls. Errors
never escape ``poll``; ``export`` may raise ``OSError`` from the spool, which the Monitor counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from edgewatch.collector._logs import encode_samples
from edgewatch.collector._remote import ConfigPoller
from edgewatch.collector._reservoir import RowSampler
from edgewatch.collector._sampling import SamplingConfig, effective_budget
from edgewatch.collector._spool import LOGS, Spool


class SampleExporter:
    """Chooses rows within the budget in force and spools them once per export interval."""

    def __init__(
        self,
        config: SamplingConfig,
        features: Sequence[str],
        categorical: Sequence[str],
        interval_s: float,
        spool: Spool,
        poller: ConfigPoller | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.sampler = RowSampler(config, features, categorical, interval_s, clock=clock)
        self.poller = poller
        self._spool = spool
        self.spooled_rows = 0

    @property
    def next_poll_at(self) -> float:
        """Monotonic time of the next config poll (infinity without remote budgets)."""
        return self.poller.next_at if self.poller is not None else float("inf")

    def poll(self) -> None:
        """Fetch the server's budget when due; it applies from the next interval."""
        if self.poller is not None and self.poller.poll_if_due():
            self._apply_budget()

    def _apply_budget(self) -> None:
        remote = self.poller.current if self.poller is not None else None
        self.sampler.set_budget(effective_budget(self.config, remote, time.time()))

    def export(self, resource: Mapping[str, str]) -> None:
        """Spool the interval's sampled rows as one ``/v1/logs`` batch, within the byte budget."""
        self._apply_budget()  # a temporary raise ends on time even while the server is away
        rows = self.sampler.take()
        if not rows:
            return
        encoded = encode_samples(resource, rows, self.sampler.bytes_left())
        if encoded is None:
            self.sampler.spent(0, 0, len(rows))
            return
        self.sampler.spent(encoded.rows, encoded.size_bytes, encoded.dropped)
        self._spool.put(encoded.body, signal=LOGS)
        self.spooled_rows += encoded.rows

    def stats(self) -> dict[str, int]:
        """Counters for ``Monitor.stats()``."""
        s = self.sampler
        out = {
            "samples.spooled": self.spooled_rows,
            "samples.dropped.budget": s.dropped_budget,
            "samples.dropped.invalid": s.dropped_invalid,
            "samples.enabled": int(s.budget.enabled),
            "samples.rows_per_hour": s.budget.rows_per_hour,
            "samples.bytes_per_day": s.budget.bytes_per_day,
        }
        if self.poller is not None:
            out["config.polls"] = self.poller.polls
            out["config.errors"] = self.poller.errors
        return out
