"""A batch whose request gave up waiting (the ingest route cancels the future after
``write_timeout_s``) must not kill the writer thread when its commit finally lands."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from otlp_wire import device_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, Store, StoreConfig, WriteOutcome

pytestmark = pytest.mark.timeout(60)


def _batch(key: str) -> Batch:
    return convert(
        device_batch("d", end_ns=time.time_ns(), features=2, inferences=10, errors=0),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
        batch_key=key,
    ).batch


def test_a_cancelled_batch_is_committed_and_the_writer_survives(tmp_path: Path) -> None:
    release = threading.Event()
    with Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False)) as store:
        stall = store._writer.call(lambda cur: release.wait(10))  # a stalled disk, in effect
        while not stall.running():
            time.sleep(0.001)
        abandoned = store.submit(_batch("k1"))
        assert abandoned.cancel()  # what asyncio.wait_for does when the request times out
        release.set()
        stall.result(10)
        assert store.submit(_batch("k2")).result(10) is WriteOutcome.STORED
        assert store.ready
        # The abandoned batch was stored: its client's resend is recognised as a duplicate.
        assert store.submit(_batch("k1")).result(10) is WriteOutcome.DUPLICATE
