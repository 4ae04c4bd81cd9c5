"""A lake replica's group of batches from different requests: a batch whose rows cannot be
written fails alone, and the others of its group are stored once (real PostgreSQL and
DuckLake)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lake_cluster import Postgres, postgres, unavailable
from otlp_wire import device_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, StoreConfig, StoreError, WriteOutcome

if TYPE_CHECKING:
    from edgewatch.server.lake import LakeStore

REASON = unavailable()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(90)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LakeStore]:
    from edgewatch.server.lake import LakeConfig, LakeStore

    with postgres() as pg:
        cluster: Postgres = pg
        lake = LakeConfig(cluster.create_database(f"lake_{secrets.token_hex(4)}"), str(tmp_path))
        s = LakeStore.open_lake(lake, StoreConfig(maintenance=False), scheduler=False)
        try:
            yield s
        finally:
            s.close()


def _batch(device: str, key: str) -> Batch:
    return convert(
        device_batch(device, end_ns=time.time_ns(), features=2, inferences=10, errors=0),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
        batch_key=key,
    ).batch


def test_a_batch_that_cannot_be_written_fails_alone_on_a_lake(store: LakeStore) -> None:
    unwritable = _batch("dev-b", "kb")
    unwritable.numeric.value.append(1.0)  # one value more than rows: its insert fails
    release = threading.Event()
    stall = store._writer.call(lambda cur: release.wait(10))  # the next three queue up
    while not stall.running():
        time.sleep(0.001)
    before = store.submit(_batch("dev-a", "k1"))
    bad = store.submit(unwritable)
    after = store.submit(_batch("dev-c", "k2"))
    release.set()
    stall.result(10)
    assert before.result(30) is WriteOutcome.STORED
    assert after.result(30) is WriteOutcome.STORED
    with pytest.raises(StoreError, match="storage failed"):
        bad.result(30)
    assert store.submit(_batch("dev-a", "k1")).result(30) is WriteOutcome.DUPLICATE
    assert store.submit(_batch("dev-c", "k2")).result(30) is WriteOutcome.DUPLICATE
    assert store.submit(_batch("dev-b", "kb")).result(30) is WriteOutcome.STORED
