"""``LakeStore``: the ``Store`` of one stateless replica on a DuckLake lake.

Queries are the embedded store's own (they run on the lake connection, whose search path
finds each table in DuckLake or PostgreSQL). Writes go through ``LakeWriter``. Rollups,
retention and the lake's own upkeep (merging small files, expiring old snapshots, deciding
groups of dead replicas) run only on the replica holding the scheduler lease.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime

import duckdb
import psycopg

from edgewatch.server.lake import _claims
from edgewatch.server.lake._connect import LAKE, LakeConfig, connect, search
from edgewatch.server.lake._lease import SchedulerLease
from edgewatch.server.lake._schema import ensure_schema
from edgewatch.server.lake._writer import LakeWriter
from edgewatch.server.store import FleetSummary, Store, StoreConfig, StoreError, _fleet
from edgewatch.server.store._time import checked_or_now
from edgewatch.server.store._writer import CommitObserver

log = logging.getLogger(__name__)

SNAPSHOT_KEEP_S = 3_600.0
"""Snapshots younger than this are kept: a dead replica's pending group is decided from its
snapshot (the leader decides them every rollup tick, long before), and readers in flight
keep their snapshot's files."""


def _stop_process() -> None:
    """Fail-stop: a replica that lost the scheduler lease ends itself (its supervisor or
    orchestrator restarts it as a follower) rather than risk a second scheduler."""
    os.kill(os.getpid(), signal.SIGTERM)


class LakeStore(Store):
    """Open with ``LakeStore.open_lake(lake, config)``; ``lease`` says who schedules."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake: LakeConfig,
        config: StoreConfig,
        on_commit: CommitObserver | None,
        *,
        lease_poll_s: float,
        on_lease_lost: Callable[[], None],
    ) -> None:
        writer = LakeWriter(
            con,
            lake.catalog,
            max_queue=config.max_queue,
            max_group_points=config.max_group_points,
            idempotency_window_s=config.idempotency_window_s,
            on_commit=on_commit,
            max_samples_per_device=config.max_samples_per_device,
        )
        super().__init__(con, config, on_commit, writer)
        self.lake = lake
        self.lease = SchedulerLease(lake.catalog, poll_s=lease_poll_s, on_lost=on_lease_lost)

    @classmethod
    def open_lake(
        cls,
        lake: LakeConfig,
        config: StoreConfig | None = None,
        *,
        on_commit: CommitObserver | None = None,
        lease_poll_s: float = 2.0,
        on_lease_lost: Callable[[], None] = _stop_process,
        scheduler: bool = True,
    ) -> LakeStore:
        """Attach the lake (creating its tables on first use) and start the writer; with
        ``scheduler``, also compete for the scheduler lease (off for admin commands)."""
        con = connect(lake)
        try:
            ensure_schema(con, lake.catalog)
            store = cls(
                con,
                lake,
                config or StoreConfig(),
                on_commit,
                lease_poll_s=lease_poll_s,
                on_lease_lost=on_lease_lost,
            )
        except (duckdb.Error, psycopg.Error) as e:
            con.close()
            raise StoreError(f"cannot prepare the lake at {lake.catalog}: {e}") from e
        store._writer.start()
        if scheduler:
            store.lease.start()
            if store.config.maintenance:
                store._maintenance.start()
        return store

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        return search(self._con.cursor())

    def when_leader(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once this replica holds the scheduler lease."""
        self.lease.when_acquired(fn)

    def close(self) -> None:
        """Stop competing for the lease, then close like the embedded store."""
        if not self._closed and self.lease._thread.is_alive():
            self.lease.stop()
        super().close()

    def fleet_summary(
        self,
        *,
        start: datetime,
        end: datetime,
        fleet: str | None = None,
        now: datetime | None = None,
    ) -> FleetSummary:
        """The embedded store's fleet summary, read in one transaction: one lake snapshot for
        all its queries (each query on its own would look up the newest snapshot in the
        catalog again), with the explicit histograms scanned once."""

        def summary(cur: duckdb.DuckDBPyConnection) -> FleetSummary:
            cur.begin()
            try:
                return _fleet.fleet_summary(
                    cur,
                    start=start,
                    end=end,
                    now=checked_or_now(now),
                    thresholds=self.config.thresholds,
                    fleet=fleet,
                    scan_once=True,
                )
            finally:
                cur.rollback()

        return self._db.read(summary)

    def _on_catalog(self, what: str, fn: Callable[[psycopg.Connection], object]) -> None:
        """Run ``fn`` on a fresh autocommit catalog session; a PostgreSQL failure becomes a
        :class:`StoreError` naming ``what``, as every store error does."""
        try:
            with psycopg.connect(self.lake.catalog, autocommit=True) as pg:
                fn(pg)
        except psycopg.Error as e:
            raise StoreError(f"{what} failed on the lake's catalog: {e}") from e

    def enforce_retention(self, now: datetime | None = None) -> None:
        """Retention of the lake's tables, then of the claims past the idempotency window."""
        super().enforce_retention(now)
        window_s = self.config.idempotency_window_s
        self._on_catalog("pruning old claims", lambda pg: _claims.prune(pg, window_s))

    def compact(self) -> None:
        """Merge small adjacent Parquet files, expire old snapshots and delete the files
        nothing references any more (DuckLake's own maintenance functions)."""
        self._on_catalog("deciding dead replicas' groups", _claims.resolve_orphans)

        def maintain(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute(f"CALL ducklake_merge_adjacent_files('{LAKE}')")
            cur.execute(
                f"CALL ducklake_expire_snapshots('{LAKE}', older_than => now() - to_seconds(?))",
                [SNAPSHOT_KEEP_S],
            )
            cur.execute(f"CALL ducklake_cleanup_old_files('{LAKE}', cleanup_all => true)")

        self._db.read(maintain)

    def _maintain(self) -> None:
        cfg = self.config
        last_hour = last_retention = time.monotonic()
        while not self._stop.wait(cfg.rollup_interval_s):
            if not self.lease.held:
                continue
            try:
                self._on_catalog("deciding dead replicas' groups", _claims.resolve_orphans)
                now = time.monotonic()
                hourly = now - last_hour >= cfg.hourly_rollup_interval_s
                self.roll_up(hours=hourly)
                if hourly:
                    self.compact()
                    last_hour = now
                if now - last_retention >= cfg.retention_interval_s:
                    self.enforce_retention()
                    last_retention = now
            except (StoreError, duckdb.Error) as e:
                log.warning("lake maintenance failed, will retry: %s", e)
