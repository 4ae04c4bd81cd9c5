"""Exactly once across replicas, with each failure window driven on purpose: two replicas'
stores on one lake (real PostgreSQL, real DuckLake), one of them losing its PostgreSQL
state session (``pg_terminate_backend``) at the exact step of its group commit:

- before its DuckLake commit, while the other replica judges its group dead and stores
  the resent batch (or the leader's upkeep judges it dead): the late commit is refused (a
  duplicate on resend, never stored twice);
- right after its DuckLake commit: the device's registry rows and cumulative state are
  there all the same (the next cumulative export counts only its own interval);
- during its DuckLake commit, after the commit's own checks, while the other replica
  converts the same device's next cumulative export: that conversion waits for the commit.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lake_cluster import Postgres, postgres, unavailable, wait_for
from otlp_wire import cumulative_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Batch, StoreBusyError, StoreConfig, WriteOutcome

if TYPE_CHECKING:
    from edgewatch.server.lake import LakeStore

REASON = unavailable()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(90)]

START_NS = time.time_ns() - 600_000_000_000
DEVICE = "cum"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with postgres() as pg:
        yield pg


@pytest.fixture
def stores(cluster: Postgres, tmp_path: Path) -> Iterator[tuple[str, LakeStore, LakeStore]]:
    """Two replicas' stores on one new lake (no scheduler: nothing decides groups behind
    the test's back)."""
    from edgewatch.server.lake import LakeConfig, LakeStore

    lake = LakeConfig(cluster.create_database(f"lake_{secrets.token_hex(4)}"), str(tmp_path))
    config = StoreConfig(maintenance=False)
    a = LakeStore.open_lake(lake, config, scheduler=False)
    b = LakeStore.open_lake(lake, config, scheduler=False)
    try:
        yield lake.catalog, a, b
    finally:
        a.close()
        b.close()


def _export(total: int, minute: int, key: str) -> Batch:
    """Device ``cum``'s export at ``minute``: a gauge and a cumulative counter at ``total``."""
    end_ns = START_NS + minute * 60_000_000_000
    return convert(
        cumulative_batch(DEVICE, total, end_ns, START_NS),
        received_s=time.time(),
        limits=IngestLimits(max_age_s=86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
        batch_key=key,
    ).batch


def _counted(store: LakeStore) -> tuple[float, int]:
    """(sum of the counter's stored deltas, raw rows of the device) through a replica."""

    def read(cur: Any) -> tuple[float, int]:
        total = cur.execute(
            "SELECT coalesce(sum(value), 0) FROM points"
            " WHERE device_id = ? AND metric = 'requests.total'",
            [DEVICE],
        ).fetchone()
        rows = cur.execute("SELECT count(*) FROM points WHERE device_id = ?", [DEVICE]).fetchone()
        return float(total[0]), int(rows[0])

    out: tuple[float, int] = store._db.read(read)
    return out


def _pg(catalog: str, *, autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect(catalog, autocommit=autocommit)


def _terminate(catalog: str, pid: int) -> None:
    """End backend ``pid`` as a network cut or a killed replica would, and wait until it is
    gone (its advisory locks with it)."""
    with _pg(catalog) as pg:
        assert pg.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        wait_for(
            lambda: (
                pg.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
                is None
            ),
            10.0,
            f"backend {pid} gone",
        )


def _hook_lake_commit(
    store: LakeStore,
    *,
    before: Callable[[int], None] = lambda seq: None,
    after: Callable[[int], None] = lambda seq: None,
) -> list[int]:
    """Run ``before``/``after`` around the next DuckLake commit of ``store``'s writer (once);
    returns the list its group number is put in."""
    writer: Any = store._writer
    original = writer._commit_lake
    seen: list[int] = []

    def hooked(seq: int) -> None:
        writer._commit_lake = original
        seen.append(seq)
        before(seq)
        original(seq)
        after(seq)

    writer._commit_lake = hooked
    return seen


def _group_state(catalog: str, seq: int) -> str:
    with _pg(catalog) as pg:
        row = pg.execute("SELECT state FROM ew_groups WHERE seq = %s", [seq]).fetchone()
    assert row is not None
    return str(row[0])


def test_a_group_judged_dead_before_its_lake_commit_is_never_stored(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    catalog, a, b = stores
    export = _export(10, 1, "k-1")
    stored_by_b: list[WriteOutcome] = []
    once: list[tuple[float, int]] = []

    def session_breaks_then_b_meets_the_key(seq: int) -> None:
        # a's state session breaks after a's last check of it: the group's lock is free
        _terminate(catalog, a._writer._state_pg.info.backend_pid)
        # the collector's resend reaches b, which judges a's group dead and stores it
        stored_by_b.append(b.submit(export).result(30))
        once.append(_counted(b))

    seen = _hook_lake_commit(a, before=session_breaks_then_b_meets_the_key)
    late = a.submit(export)
    with pytest.raises(StoreBusyError, match="resend"):
        late.result(60)  # a's DuckLake commit is refused: a 503 with Retry-After
    assert stored_by_b == [WriteOutcome.STORED]
    assert _group_state(catalog, seen[0]) == "aborted"
    # stored once, whichever replica reads; a's next resend is a duplicate
    assert once[0][0] == 10.0
    assert _counted(a) == _counted(b) == once[0]
    assert a.submit(export).result(30) is WriteOutcome.DUPLICATE
    assert _counted(b) == once[0]


def test_the_leaders_upkeep_judging_a_group_dead_fences_its_late_lake_commit(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    from edgewatch.server.lake import _claims

    catalog, a, _ = stores
    export = _export(10, 1, "k-1")
    decided: list[int] = []

    def session_breaks_then_the_leader_decides(seq: int) -> None:
        _terminate(catalog, a._writer._state_pg.info.backend_pid)
        with _pg(catalog) as pg:  # the leader's maintenance tick
            decided.append(_claims.resolve_orphans(pg))

    seen = _hook_lake_commit(a, before=session_breaks_then_the_leader_decides)
    with pytest.raises(StoreBusyError):
        a.submit(export).result(60)
    assert decided == [1]
    assert _group_state(catalog, seen[0]) == "aborted"
    assert _counted(a) == (0.0, 0)
    # the claim was released with the group: the collector's resend is stored, once
    assert a.submit(export).result(30) is WriteOutcome.STORED
    assert a.submit(export).result(30) is WriteOutcome.DUPLICATE
    assert _counted(a)[0] == 10.0


def test_a_replica_gone_right_after_its_lake_commit_leaves_registry_and_state_written(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    catalog, a, b = stores

    def replica_dies(seq: int) -> None:  # both of a's sessions end, as with kill -9
        writer = a._writer
        for session in (writer._state_pg, writer._claims_pg):
            _terminate(catalog, session.info.backend_pid)

    seen = _hook_lake_commit(a, after=replica_dies)
    first = _export(10, 1, "k-1")
    assert a.submit(first).result(30) is WriteOutcome.STORED
    assert _group_state(catalog, seen[0]) == "committed"
    # the device is registered and its counter's state moved on without a's state session
    assert [d.device_id for d in b.list_devices()] == [DEVICE]
    assert b.submit(first).result(30) is WriteOutcome.DUPLICATE
    assert b.submit(_export(25, 2, "k-2")).result(30) is WriteOutcome.STORED
    assert a.submit(_export(60, 3, "k-3")).result(30) is WriteOutcome.STORED
    assert _counted(b)[0] == 60.0  # 10 + 15 + 35: no interval counted twice


def _blocked_by(pg: Any, blocker: int) -> list[int]:
    rows = pg.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [blocker]
    ).fetchall()
    return [int(r[0]) for r in rows]


def test_a_conversion_waits_for_a_lake_commit_in_flight_whose_state_session_died(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    catalog, a, b = stores
    assert b.submit(_export(10, 1, "k-1")).result(30) is WriteOutcome.STORED
    with _pg(catalog, autocommit=False) as blocker:
        # Hold the device's registry row: a's commit stops inside its trigger, past the
        # group's checks, where it upserts the device.
        blocker.execute("SELECT 1 FROM devices WHERE device_id = %s FOR UPDATE", [DEVICE])
        blocker_pid = blocker.info.backend_pid
        with _pg(catalog) as watch:
            in_flight = a.submit(_export(25, 2, "k-2"))
            wait_for(lambda: _blocked_by(watch, blocker_pid), 30.0, "a's commit in its trigger")
            a_commit = _blocked_by(watch, blocker_pid)[0]
            # a's state session dies: the device's cumulative lock is free for b
            _terminate(catalog, a._writer._state_pg.info.backend_pid)
            next_export: Future[WriteOutcome] = b.submit(_export(60, 3, "k-3"))
            # b's group stops behind a's commit (its conversion on the device's fence)
            wait_for(lambda: _blocked_by(watch, a_commit), 30.0, "b waiting for a's commit")
            assert not next_export.done()
        blocker.rollback()
    assert in_flight.result(30) is WriteOutcome.STORED
    assert next_export.result(30) is WriteOutcome.STORED
    assert _counted(a)[0] == 60.0  # 10 + 15 + 35: b converted from a's state


def test_groups_of_one_device_committed_by_two_replicas_at_once_count_each_interval_once(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    """Without any failure: exports of one device race through both replicas."""
    _, a, b = stores
    totals = [10, 25, 25, 60, 61, 100, 130, 131]
    results: list[WriteOutcome] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        out = (a, b)[i % 2].submit(_export(totals[i], i + 1, f"k-{i}")).result(30)
        with lock:
            results.append(out)

    for i in range(0, len(totals), 2):  # pairs race; each pair after the one before
        threads = [threading.Thread(target=send, args=(j,)) for j in (i, i + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert results == [WriteOutcome.STORED] * len(totals)
    # the later export of a racing pair may be converted first: the earlier one is then
    # stale and adds nothing, so the counter's total is still counted exactly once
    assert _counted(a)[0] == 131.0


def test_catalog_failures_in_upkeep_are_store_errors(
    stores: tuple[str, LakeStore, LakeStore],
) -> None:
    """Retention and compaction with the catalog unreachable fail as the store's own
    ``StoreError`` (a 503 to callers, a retry for the leader), naming the step, never as a
    raw PostgreSQL error."""
    import dataclasses
    import socket

    from edgewatch.server.store import StoreError

    _catalog, a, _b = stores
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    a.lake = dataclasses.replace(
        a.lake, catalog=f"postgresql://edgewatch@127.0.0.1:{closed_port}/nowhere"
    )
    with pytest.raises(StoreError, match="pruning old claims"):
        a.enforce_retention()
    with pytest.raises(StoreError, match="deciding dead replicas' groups"):
        a.compact()
