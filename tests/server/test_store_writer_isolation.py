"""Batches of different requests committed in one group: a batch whose rows cannot be
written fails alone, and the others of its group are stored and acknowledged."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from otlp_wire import device_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, Store, StoreConfig, StoreError, WriteOutcome

pytestmark = pytest.mark.timeout(60)


def _batch(device: str, key: str) -> Batch:
    return convert(
        device_batch(device, end_ns=time.time_ns(), features=2, inferences=10, errors=0),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
        batch_key=key,
    ).batch


def test_a_batch_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    unwritable = _batch("dev-b", "kb")
    unwritable.numeric.value.append(1.0)  # one value more than rows: its insert fails
    release = threading.Event()
    with Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False)) as store:
        stall = store._writer.call(lambda cur: release.wait(10))  # the next three queue up
        while not stall.running():
            time.sleep(0.001)
        before = store.submit(_batch("dev-a", "k1"))
        bad = store.submit(unwritable)
        after = store.submit(_batch("dev-c", "k2"))
        release.set()
        stall.result(10)
        assert before.result(10) is WriteOutcome.STORED
        assert after.result(10) is WriteOutcome.STORED
        with pytest.raises(StoreError, match="storage failed"):
            bad.result(10)
        assert store.row_counts("dev-a") == store.row_counts("dev-c")
        assert store.row_counts("dev-a")["exp_histograms"] == 4
        assert store.row_counts("dev-b")["points"] == 0
        # both stored once: their resends are duplicates
        assert store.submit(_batch("dev-a", "k1")).result(10) is WriteOutcome.DUPLICATE
        assert store.submit(_batch("dev-c", "k2")).result(10) is WriteOutcome.DUPLICATE
