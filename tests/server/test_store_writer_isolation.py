"""Batches of different requests committed in one group: a batch whose rows cannot be
written fails alone, and the others of its group are stored and acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest
from writer_isolation import fresh_batch, one_group_with_a_bad_batch

from edgewatch.server.store import Store, StoreConfig, StoreError, WriteOutcome

pytestmark = pytest.mark.timeout(60)


def test_a_batch_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    with Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False)) as store:
        before, bad, after = one_group_with_a_bad_batch(store)
        assert before.result(10) is WriteOutcome.STORED
        assert after.result(10) is WriteOutcome.STORED
        with pytest.raises(StoreError, match="storage failed"):
            bad.result(10)
        assert store.row_counts("dev-a") == store.row_counts("dev-c")
        assert store.row_counts("dev-a")["exp_histograms"] == 4
        assert store.row_counts("dev-b")["points"] == 0
        # both stored once: their resends are duplicates
        assert store.submit(fresh_batch("dev-a", "k1")).result(10) is WriteOutcome.DUPLICATE
        assert store.submit(fresh_batch("dev-c", "k2")).result(10) is WriteOutcome.DUPLICATE
