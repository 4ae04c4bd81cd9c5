"""The alerting store and delivery queue on a lake (alerts, history, silences, acks, groups,
deliveries in PostgreSQL) pass the same contract suite as on the embedded file, and the
state one replica writes is what another replica reads."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lake_cluster import Postgres, postgres, unavailable
from test_alerting_store_contract import (
    T0,
    _advance,
    _delivery,
    test_alert_state_history_and_evaluation_time,
    test_queue_due_attempts_and_supersede,
    test_silences_acks_groups,
)

from edgewatch.server.alerting import DuckAlertingStore, DuckDeliveryQueue
from edgewatch.server.store import StoreConfig

REASON = unavailable()
if REASON is not None:
    print(f"skipping the lake alerting contract: {REASON}")
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(120)]

__all__ = [
    "test_alert_state_history_and_evaluation_time",
    "test_queue_due_attempts_and_supersede",
    "test_silences_acks_groups",
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with postgres() as pg:
        yield pg


@pytest.fixture
def lake(cluster: Postgres, tmp_path: Path) -> Any:
    from edgewatch.server.lake import LakeConfig

    return LakeConfig(cluster.create_database(f"a_{secrets.token_hex(4)}"), str(tmp_path / "lake"))


@pytest.fixture
def backends(lake: Any) -> Iterator[tuple[Any, Any]]:
    from edgewatch.server.lake import LakeStore

    with LakeStore.open_lake(lake, StoreConfig(maintenance=False), scheduler=False) as store:
        yield DuckAlertingStore(store), DuckDeliveryQueue(store)


def test_alert_state_written_by_one_replica_is_read_by_another(lake: Any) -> None:
    from edgewatch.server.lake import LakeStore

    config = StoreConfig(maintenance=False)
    with (
        LakeStore.open_lake(lake, config, scheduler=False) as one,
        LakeStore.open_lake(lake, config, scheduler=False) as other,
    ):
        _advance(DuckAlertingStore(one), {"a": True}, T0)
        DuckDeliveryQueue(one).enqueue(_delivery(1))
        alerts = DuckAlertingStore(other)
        assert [a.labels["device"] for a in alerts.alerts(rule="Hot")] == ["a"]
        assert len(alerts.history()) == 1
        due = DuckDeliveryQueue(other).due(T0 + timedelta(seconds=2))
        assert [d.id for d in due] == ["d1"]
