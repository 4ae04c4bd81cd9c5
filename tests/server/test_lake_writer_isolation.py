"""A lake replica's group of batches from different requests: a batch whose rows cannot be
written fails alone, and the others of its group are stored once (real PostgreSQL and
DuckLake)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lake_cluster import Postgres, postgres, unavailable
from writer_isolation import fresh_batch, one_group_with_a_bad_batch

from edgewatch.server.store import StoreConfig, StoreError, WriteOutcome

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


def test_a_batch_that_cannot_be_written_fails_alone_on_a_lake(store: LakeStore) -> None:
    before, bad, after = one_group_with_a_bad_batch(store)
    assert before.result(30) is WriteOutcome.STORED
    assert after.result(30) is WriteOutcome.STORED
    with pytest.raises(StoreError, match="storage failed"):
        bad.result(30)
    assert store.submit(fresh_batch("dev-a", "k1")).result(30) is WriteOutcome.DUPLICATE
    assert store.submit(fresh_batch("dev-c", "k2")).result(30) is WriteOutcome.DUPLICATE
    assert store.submit(fresh_batch("dev-b", "kb")).result(30) is WriteOutcome.STORED
