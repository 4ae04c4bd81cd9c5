"""The replica's writer: group commits into DuckLake, exactly once across replicas.

Each group is numbered and its Idempotency-Keys claimed in PostgreSQL first (see
``_claims``); its state transaction holds the group's lock and, for devices with cumulative
points, per-device locks under which it reads their newest cumulative state and converts.
The group's data rows then go into one DuckLake commit whose commit info carries the group
number, its registry rows (devices, metrics, series, series kinds) and its new cumulative
state: DuckLake writes that info in its catalog transaction, where ``_claims.COMMIT_DDL``'s
trigger checks the group is still alive, applies the rest and marks the group committed.
Rows, registry, state and the group's decision are one PostgreSQL transaction; the state
transaction then ends, releasing the locks.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import duckdb
import psycopg

from edgewatch.server.lake import _claims
from edgewatch.server.lake._claims import FENCED, ClaimState, Key
from edgewatch.server.lake._connect import LAKE, search
from edgewatch.server.store import Batch, StoreBusyError, StoreError, WriteOutcome
from edgewatch.server.store._cumstate import Kept, StateKey
from edgewatch.server.store._cumulative import dumps, loads
from edgewatch.server.store._series_kinds import KindsUpdate
from edgewatch.server.store._writer import CommitObserver, Writer, _BatchJob, _fail, _resolve

log = logging.getLogger(__name__)


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
            seq = self._begin()
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
        try:
            kinds, state, locked = self._convert(batches)
            self._cur.begin()
            self._write_rows(seq, batches)
            self._cur.execute(
                f"CALL {LAKE}.set_commit_message('edgewatch', 'ingest', extra_info => ?)",
                [_group_info(seq, batches, kinds, state, locked)],
            )
            self._commit_lake(seq)
        except Exception as e:  # the writer thread must outlive any failed group
            self._rollback()
            self._state_rollback()
            self._abort(seq)
            if FENCED in str(e):
                log.warning("group %d was judged dead by another replica: not stored", seq)
                failure: StoreError = StoreBusyError(
                    "this replica lost its PostgreSQL session mid-commit; resend", 1.0
                )
            else:
                text = _without_query(str(e))
                if len(fresh) > 1:
                    # batches of different requests share a group: each is committed
                    # alone, so only the one that cannot be written fails
                    log.warning("commit of %d batches failed (%s); each alone", len(fresh), text)
                    for job in fresh:
                        self._commit([job])
                    return
                log.error("commit of a batch failed: %s", text)
                failure = StoreError(f"storage failed: {text}")
            for job in fresh:
                _fail(job.future, failure)
            return
        self._end_state()
        self._series_kinds.advance(kinds)
        self._cumulative.advance(state)
        self._seq = seq
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - started, batches)
        for job in fresh:
            _resolve(job.future, WriteOutcome.STORED)

    def _begin(self) -> int:
        """Begin a group. A PostgreSQL session that broke while the replica lives (its
        backend ended, the network dropped it) shows when next used: it is opened again and
        the group begins on the fresh one."""
        for retry in (False, True):
            if self._claims_pg.closed:
                self._claims_pg = _connect_pg(self._catalog, autocommit=True)
            if self._state_pg.closed:
                self._state_pg = _connect_pg(self._catalog, autocommit=False)
            try:
                return _claims.begin_group(self._claims_pg, self._state_pg, self._owner)
            except psycopg.OperationalError:
                self._state_rollback()
                if retry or not (self._claims_pg.closed or self._state_pg.closed):
                    raise
        raise AssertionError("unreachable")

    def _commit_lake(self, seq: int) -> None:
        """The group's DuckLake commit (its catalog transaction runs the group's trigger)."""
        self._cur.commit()

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

    def _convert(self, batches: list[Batch]) -> tuple[KindsUpdate, dict[StateKey, Kept], list[str]]:
        """Lock the devices with cumulative rows, load their newest state, then convert;
        also returns the locked devices."""
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
            _claims.lock_devices(self._state_pg, devices)
            rows = self._state_pg.execute(
                "SELECT device_id, metric, attrs, kind, state FROM cumulative_state"
                " WHERE device_id = ANY(%s)",
                [devices],
            ).fetchall()
            self._cumulative.advance({(r[0], r[1], r[2], r[3]): loads(r[3], r[4]) for r in rows})
        kinds = self._series_kinds.fresh(batches)
        converted, state = self._cumulative.convert(batches)
        batches[:] = converted
        return kinds, state, devices

    def _end_state(self) -> None:
        """End the state transaction once the group is committed, releasing its locks (it
        wrote nothing; a broken session has released them already)."""
        try:
            self._state_pg.commit()
        except psycopg.Error:
            log.debug("ending the state transaction failed", exc_info=True)

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


def _without_query(text: str) -> str:
    """DuckDB's text of a failed DuckLake commit without the catalog SQL it quotes, which
    holds the group's commit info (other devices' registry rows): the error is kept."""
    head, sep, rest = text.partition('Failed to execute query "')
    if not sep:
        return text
    _, sep, error = rest.rpartition('": ')
    return f"{head}catalog query failed: {error if sep else '(no error text)'}".strip()


_DEVICE_COLUMNS = ("fleet", "model_name", "model_version", "hardware", "runtime", "host_arch",
                   "os_type", "service_name", "power_sources")  # fmt: skip


def _group_info(
    seq: int,
    batches: list[Batch],
    kinds: KindsUpdate,
    state: dict[StateKey, Kept],
    locked: list[str],
) -> str:
    """The group's DuckLake commit info: its number, cumulative devices, registry rows
    (metrics, series, series kinds and devices, each insert-if-absent or newest-wins) and new
    cumulative state, as the trigger of ``_claims.COMMIT_DDL`` reads them (times in
    microseconds)."""
    metrics = {m.metric: m for b in batches for m in b.metrics}
    series = {s: b.received_us for b in batches for s in b.new_series}
    latest: dict[str, tuple[Batch, Any]] = {}
    for b in batches:
        for d in b.devices:
            latest[d.device_id] = (b, d)
    info = {
        "seq": seq,
        "locked": locked,
        "metrics": [
            [m.metric, m.kind, m.unit, m.description] for m in (metrics[k] for k in sorted(metrics))
        ],
        "series": [[*k, series[k]] for k in sorted(series)],
        "kinds": [[*k, kinds.entries[k]] for k in sorted(kinds.entries)],
        "devices": [
            [
                d.device_id,
                *(getattr(d, c) for c in _DEVICE_COLUMNS),
                d.attributes_json,
                b.received_us,
                b.batch_key,
                d.clock_skew_s,
            ]
            for b, d in (latest[k] for k in sorted(latest))
        ],
        "state": [[*k, state[k].ts_us, dumps(state[k])] for k in sorted(state)],
    }
    return json.dumps(info, separators=(",", ":"), allow_nan=False)
