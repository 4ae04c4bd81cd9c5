"""One commit group holding a batch that cannot be written, for the embedded and lake writers'
isolation tests: the same batches, queued behind a stall so the writer takes them together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

from otlp_wire import device_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, WriteOutcome


def fresh_batch(device: str, key: str) -> Batch:
    """A small export of ``device`` converted as ingest would, with Idempotency-Key ``key``."""
    return convert(
        device_batch(device, end_ns=time.time_ns(), features=2, inferences=10, errors=0),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
        batch_key=key,
    ).batch


def one_group_with_a_bad_batch(store: Any) -> tuple[Future[WriteOutcome], ...]:
    """dev-a, an unwritable dev-b and dev-c submitted while the writer is stalled, so they
    commit as one group; their futures in that order."""
    unwritable = fresh_batch("dev-b", "kb")
    unwritable.numeric.value.append(1.0)  # one value more than rows: its insert fails
    release = threading.Event()
    stall = store._writer.call(lambda cur: release.wait(10))  # the next three queue up
    while not stall.running():
        time.sleep(0.001)
    futures = (
        store.submit(fresh_batch("dev-a", "k1")),
        store.submit(unwritable),
        store.submit(fresh_batch("dev-c", "k2")),
    )
    release.set()
    stall.result(10)
    return futures
