"""The replica's writer: group commits into DuckLake, exactly once across replicas.

Each group is one DuckLake commit (data rows) between two PostgreSQL steps (see
``_claims``): claim the group's Idempotency-Keys first, then, in the group's state
transaction, write what the embedded writer keeps in memory or in small tables (device
registry, series catalogue, cumulative-to-delta state) and mark the group committed. The
cumulative state of the group's devices is read under per-device advisory locks inside that
transaction, so two replicas never convert the same device's exports at the same time and
each starts from what the other committed.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import duckdb
import psycopg

from edgewatch.server.lake import _claims
from edgewatch.server.lake._claims import ClaimState, Key
from edgewatch.server.lake._connect import LAKE, search
from edgewatch.server.store import Batch, StoreBusyError, StoreError, WriteOutcome
from edgewatch.server.store._cumstate import Kept, StateKey
from edgewatch.server.store._cumulative import dumps, loads
from edgewatch.server.store._series_kinds import KindsUpdate
from edgewatch.server.store._time import utc_datetime
from edgewatch.server.store._writer import CommitObserver, Writer, _BatchJob, _fail, _resolve

log = logging.getLogger(__name__)

DEVICE_LOCK_BASE = 0x4564_0000_0000_0000
"""Advisory lock namespace of per-device cumulative state ("Ed" high bytes)."""


def _connect_pg(catalog: str, *, autocommit: bool) -> psycopg.Connection:
    # Keepalives: a replica cut off from PostgreSQL notices within ~15 s instead of hanging.
    return psycopg.connect(
        catalog,
        autocommit=autocommit,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
    )


class LakeWriter(Writer):
    """``Writer`` whose group commit follows the replica protocol of ``_claims``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        catalog: str,
        *,
        max_queue: int,
        max_group_points: int,
        idempotency_window_s: float,
        on_commit: CommitObserver | None = None,
        max_samples_per_device: int = 100_000,
    ) -> None:
        super().__init__(
            con,
            max_queue=max_queue,
            max_group_points=max_group_points,
            idempotency_window_s=idempotency_window_s,
            on_commit=on_commit,
            max_samples_per_device=max_samples_per_device,
        )
        self._catalog = catalog
        self._claims_pg = _connect_pg(catalog, autocommit=True)
        self._state_pg = _connect_pg(catalog, autocommit=False)
        self._owner = f"{os.uname().nodename}:{os.getpid()}"

    def _open_cursor(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        return search(con.cursor())

    def _write_batch_keys(self, batches: list[Batch]) -> None:
        """Nothing: the keys are claims in PostgreSQL (``ew_claims``), and one table fewer
        in each DuckLake commit is one catalog write fewer."""

    @property
    def last_seq(self) -> int:
        """Groups below this number are all decided (committed or not) across replicas."""
        with _connect_pg(self._catalog, autocommit=True) as pg:
            return _claims.committed_watermark(pg)

    def close(self, timeout_s: float = 10.0) -> None:
        """Commit what is queued, stop the thread and close the PostgreSQL connections."""
        super().close(timeout_s)
        self._claims_pg.close()
        self._state_pg.close()

    def _commit(self, group: list[_BatchJob]) -> None:
        started = time.perf_counter()
        try:
            seq = _claims.begin_group(self._claims_pg, self._state_pg, self._owner)
        except psycopg.Error as e:
            self._state_rollback()
            err = StoreError(f"cannot begin a commit group in PostgreSQL: {e}")
            for job in group:
                _fail(job.future, err)
            return
        try:
            fresh, duplicates, busy = self._claim(seq, group)
        except psycopg.Error as e:
            self._state_rollback()
            self._abort(seq)
            err = StoreError(f"cannot claim batch keys in PostgreSQL: {e}")
            for job in group:
                _fail(job.future, err)
            return
        for job in busy:
            _fail(job.future, StoreBusyError("another replica is storing this batch now", 1.0))
        for job in duplicates:
            _resolve(job.future, WriteOutcome.DUPLICATE)
        if not fresh:
            self._state_rollback()
            self._abort(seq)
            return
        batches = [j.batch for j in fresh]
        lake_done = False
        try:
            kinds, state = self._convert(batches)
            self._cur.begin()
            self._write_rows(seq, batches)
            self._cur.execute(
                f"CALL {LAKE}.set_commit_message('edgewatch', 'ingest', extra_info => ?)",
                [str(seq)],
            )
            self._state_pg.execute("SELECT 1")  # still holding the group's lock?
            self._cur.commit()
            lake_done = True
            self._finish(seq, batches, kinds, state)
        except Exception as e:  # the writer thread must outlive any failed group
            if not lake_done:
                self._rollback()
                self._state_rollback()
                self._abort(seq)
                log.error("commit of %d batches failed: %s", len(fresh), e)
                err = StoreError(f"storage failed: {e}")
                for job in fresh:
                    _fail(job.future, err)
                return
            # The rows are in the lake: the batches are stored. The group stays pending
            # until a replica resolves it as committed from the lake's snapshot.
            self._state_rollback()
            log.critical(
                "group %d is in the lake but its registry and cumulative state were not"
                " written: %s",
                seq,
                e,
            )
        self._seq = seq
        points = sum(b.point_count for b in batches)
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - started, len(fresh), points)
        for job in fresh:
            _resolve(job.future, WriteOutcome.STORED)

    def _claim(
        self, seq: int, group: list[_BatchJob]
    ) -> tuple[list[_BatchJob], list[_BatchJob], list[_BatchJob]]:
        """(fresh, duplicate, in flight elsewhere) batches of the group."""
        keyed: dict[Key, _BatchJob] = {}
        fresh: list[_BatchJob] = []
        duplicates: list[_BatchJob] = []
        for job in group:
            b = job.batch
            if b.batch_key is None or b.key_device_id is None:
                fresh.append(job)
            elif (b.key_device_id, b.batch_key) in keyed:
                duplicates.append(job)
            else:
                keyed[(b.key_device_id, b.batch_key)] = job
        taken = _claims.claim(self._claims_pg, seq, list(keyed))
        settled = _claims.settle(self._claims_pg, seq, list(taken)) if taken else {}
        busy: list[_BatchJob] = []
        for key, job in keyed.items():
            outcome = settled.get(key, ClaimState.TAKEN_OVER)
            if outcome is ClaimState.TAKEN_OVER:
                fresh.append(job)
            elif outcome is ClaimState.STORED:
                duplicates.append(job)
            else:
                busy.append(job)
        return fresh, duplicates, busy

    def _convert(self, batches: list[Batch]) -> tuple[KindsUpdate, dict[StateKey, Kept]]:
        """Lock the devices with cumulative rows, load their newest state, then convert."""
        devices = sorted(
            {
                d
                for b in batches
                for rows, col in (
                    (b.numeric, b.numeric.kind),
                    (b.exp_histograms, b.exp_histograms.temporality),
                    (b.histograms, b.histograms.temporality),
                )
                for d, t in zip(rows.device_id, col, strict=True)
                if t == "cumulative"
            }
        )
        if devices:
            self._state_pg.execute(
                "SELECT pg_advisory_xact_lock(%s + (hashtext(d)::bigint & 2147483647))"
                " FROM unnest(%b::text[]) AS u(d) ORDER BY d",
                [DEVICE_LOCK_BASE, devices],
            )
            rows = self._state_pg.execute(
                "SELECT device_id, metric, attrs, kind, state FROM cumulative_state"
                " WHERE device_id = ANY(%s)",
                [devices],
            ).fetchall()
            self._cumulative.advance({(r[0], r[1], r[2], r[3]): loads(r[3], r[4]) for r in rows})
        kinds = self._series_kinds.fresh(batches)
        converted, state = self._cumulative.convert(batches)
        batches[:] = converted
        return kinds, state

    def _finish(
        self, seq: int, batches: list[Batch], kinds: KindsUpdate, state: dict[StateKey, Kept]
    ) -> None:
        """Registry, catalogue and cumulative state, then the group marked committed: one
        PostgreSQL transaction, which also releases the group's and the devices' locks."""
        pg = self._state_pg
        _upsert_registry(pg, batches, kinds)
        if state:
            keys = sorted(state)
            pg.execute(
                "INSERT INTO cumulative_state (device_id, metric, attrs, kind, ts, state)"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],"
                " %b::timestamp[], %b::text[])"
                " ON CONFLICT (device_id, metric, attrs, kind)"
                " DO UPDATE SET ts = excluded.ts, state = excluded.state",
                [
                    [k[0] for k in keys],
                    [k[1] for k in keys],
                    [k[2] for k in keys],
                    [k[3] for k in keys],
                    [utc_datetime(state[k].ts_us / 1e6) for k in keys],
                    [dumps(state[k]) for k in keys],
                ],
            )
        pg.execute("UPDATE ew_groups SET state = 'committed' WHERE seq = %s", [seq])
        pg.commit()
        self._series_kinds.advance(kinds)
        self._cumulative.advance(state)

    def _state_rollback(self) -> None:
        try:
            self._state_pg.rollback()
        except psycopg.Error:
            log.debug("rollback of the state transaction failed", exc_info=True)

    def _abort(self, seq: int) -> None:
        try:
            _claims.abort(self._claims_pg, seq)
        except psycopg.Error:
            log.warning("could not record group %d as aborted; a replica will", seq)


def _upsert_registry(pg: psycopg.Connection, batches: list[Batch], kinds: KindsUpdate) -> None:
    """Metrics, series, series kinds and devices, each insert-if-absent or newest-wins."""
    metrics = {m.metric: m for b in batches for m in b.metrics}
    if metrics:
        rows = [metrics[k] for k in sorted(metrics)]
        pg.execute(
            "INSERT INTO metrics (metric, kind, unit, description)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[])"
            " ON CONFLICT DO NOTHING",
            [[m.metric for m in rows], [m.kind for m in rows], [m.unit for m in rows],
             [m.description for m in rows]],
        )  # fmt: skip
    series = {s: b.received_us for b in batches for s in b.new_series}
    if series:
        keys = sorted(series)
        pg.execute(
            "INSERT INTO series (device_id, metric, attrs, first_seen)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamp[])"
            " ON CONFLICT DO NOTHING",
            [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
             [utc_datetime(series[k] / 1e6) for k in keys]],
        )  # fmt: skip
    if kinds.entries:
        ks = sorted(kinds.entries)
        pg.execute(
            "INSERT INTO series_kinds (device_id, metric, attrs, kind, temporality, first_seen)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
            " %b::timestamp[]) ON CONFLICT DO NOTHING",
            [*([k[i] for k in ks] for i in range(5)),
             [utc_datetime(kinds.entries[k] / 1e6) for k in ks]],
        )  # fmt: skip
    latest: dict[str, tuple[Batch, Any]] = {}
    for b in batches:
        for d in b.devices:
            latest[d.device_id] = (b, d)
    if not latest:
        return
    items = [latest[k] for k in sorted(latest)]
    cols = ("fleet", "model_name", "model_version", "hardware", "runtime", "host_arch",
            "os_type", "service_name", "power_sources")  # fmt: skip
    seen = [utc_datetime(b.received_us / 1e6) for b, _ in items]
    pg.execute(
        "INSERT INTO devices (device_id, " + ", ".join(cols) + ", attributes, first_seen,"
        " last_seen, last_batch_key, clock_skew_s) SELECT * FROM unnest("
        + ", ".join(["%b::text[]"] * (len(cols) + 2))
        + ", %b::timestamp[], %b::timestamp[], %b::text[], %b::float8[])"
        " ON CONFLICT (device_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols)
        + ", attributes = excluded.attributes,"
        " last_seen = greatest(devices.last_seen, excluded.last_seen),"
        " last_batch_key = coalesce(excluded.last_batch_key, devices.last_batch_key),"
        " clock_skew_s = coalesce(excluded.clock_skew_s, devices.clock_skew_s)",
        [
            [d.device_id for _, d in items],
            *([getattr(d, c) for _, d in items] for c in cols),
            [d.attributes_json for _, d in items],
            seen,
            seen,
            [b.batch_key for b, _ in items],
            [d.clock_skew_s for _, d in items],
        ],
    )
