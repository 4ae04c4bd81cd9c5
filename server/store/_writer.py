"""The single writer: one thread owns every write, committing request batches in groups.

Requests hand a validated ``Batch`` to ``submit`` and wait on the returned future; it
resolves only after the group containing the batch is committed (one fsync per group), so an
acknowledged batch survives a crash. The queue is bounded: when full, ``submit`` raises
``StoreBusyError`` at once instead of growing memory. Other writes to the tables ingest
touches (retention, token changes) run through ``call`` on the same thread; rollups, which
write only their own tables, run beside it (see ``Store.roll_up``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from edgewatch.server.store import _samples
from edgewatch.server.store._arrow import exp_histogram_table, histogram_table, numeric_table
from edgewatch.server.store._batch import Batch, WriteOutcome
from edgewatch.server.store._cumstate import CumulativeState, Kept, StateKey
from edgewatch.server.store._errors import StoreBusyError, StoreClosedError, StoreError
from edgewatch.server.store._samples import sample_table
from edgewatch.server.store._series_kinds import KindsUpdate, KnownSeriesKinds
from edgewatch.server.store._time import utc_datetime

log = logging.getLogger(__name__)
T = TypeVar("T")

CommitObserver = Callable[[float, Sequence[Batch]], None]
"""Called after each commit with (seconds, the batches as stored: cumulative points already
turned into deltas)."""


@dataclass(slots=True)
class _BatchJob:
    batch: Batch
    future: Future[WriteOutcome]


@dataclass(slots=True)
class _CallJob:
    fn: Callable[[duckdb.DuckDBPyConnection], Any]
    future: Future[Any]


_STOP = object()


def _resolve(future: Future[WriteOutcome], outcome: WriteOutcome) -> None:
    """Resolve a batch's future unless its request gave up waiting and cancelled it (the
    batch is committed all the same; a resend with its key is then a duplicate). Setting a
    cancelled future raises, which would kill the writer thread and the whole store."""
    with suppress(InvalidStateError):
        future.set_result(outcome)


def _fail(future: Future[WriteOutcome], error: BaseException) -> None:
    """Fail a batch's future unless it was cancelled (see ``_resolve``)."""
    with suppress(InvalidStateError):
        future.set_exception(error)


class Writer:
    """Owns the write cursor; see the module docstring for the protocol."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        max_queue: int,
        max_group_points: int,
        idempotency_window_s: float,
        retry_after_s: float = 1.0,
        on_commit: CommitObserver | None = None,
        max_samples_per_device: int = 100_000,
    ) -> None:
        self._cur = self._open_cursor(con)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._max_group_points = max_group_points
        self._window_s = idempotency_window_s
        self._retry_after_s = retry_after_s
        self._on_commit = on_commit
        self._max_samples = max_samples_per_device
        self._seq = self._max_seq()
        self._seen: dict[tuple[str, str], float] = self._load_keys()
        self._known_metrics = {
            r[0] for r in self._cur.execute("SELECT metric FROM metrics").fetchall()
        }
        self._known_devices = {
            r[0] for r in self._cur.execute("SELECT device_id FROM devices").fetchall()
        }
        self._series_kinds = KnownSeriesKinds(self._cur)
        self._cumulative = CumulativeState(self._cur)
        self._last_prune = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="edgewatch-writer", daemon=True)
        self._closed = False

    def _open_cursor(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """The writer's own cursor (a lake replica's sets its search path first)."""
        return con.cursor()

    # -- public ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the writer thread accepts work."""
        return self._thread.is_alive() and not self._closed

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for the writer."""
        return self._queue.qsize()

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest committed group."""
        return self._seq

    def submit(self, batch: Batch) -> Future[WriteOutcome]:
        """Queue a batch; the future resolves after its commit. Raises ``StoreBusyError`` when full."""
        self._check_open()
        future: Future[WriteOutcome] = Future()
        try:
            self._queue.put_nowait(_BatchJob(batch, future))
        except queue.Full:
            raise StoreBusyError("writer queue is full", self._retry_after_s) from None
        return future

    def call(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, timeout_s: float = 5.0
    ) -> Future[T]:
        """Run ``fn(cursor)`` on the writer thread inside one transaction."""
        self._check_open()
        future: Future[T] = Future()
        try:
            self._queue.put(_CallJob(fn, future), timeout=timeout_s)
        except queue.Full:
            raise StoreBusyError("writer queue is full", self._retry_after_s) from None
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        """Commit what is queued, then stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
        self._cur.close()

    # -- thread ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self.alive:
            raise StoreClosedError("the store is closed")

    def _run(self) -> None:
        pending: Any = None
        while True:
            job = pending if pending is not None else self._queue.get()
            pending = None
            if job is _STOP:
                return
            if isinstance(job, _CallJob):
                self._run_call(job)
                continue
            group = [job]
            points = job.batch.point_count
            while points < self._max_group_points:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(nxt, _BatchJob):
                    pending = nxt
                    break
                group.append(nxt)
                points += nxt.batch.point_count
            self._commit(group)

    def _run_call(self, job: _CallJob) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            self._cur.begin()
            result = job.fn(self._cur)
            self._cur.commit()
        except duckdb.Error as e:
            self._rollback()
            job.future.set_exception(StoreError(f"storage failed: {e}"))
        except BaseException as e:  # the caller gets every failure of its own function
            self._rollback()
            job.future.set_exception(e)
        else:
            job.future.set_result(result)

    def _rollback(self) -> None:
        try:
            self._cur.rollback()
        except duckdb.Error:
            log.debug("rollback after a failed transaction failed too", exc_info=True)

    def _commit(self, group: list[_BatchJob]) -> None:
        started = time.perf_counter()
        fresh: list[_BatchJob] = []
        duplicates: list[_BatchJob] = []
        keys_in_group: set[tuple[str, str]] = set()
        for job in group:
            key = _key_of(job.batch)
            if key is not None and (key in self._seen or key in keys_in_group):
                duplicates.append(job)
                continue
            if key is not None:
                keys_in_group.add(key)
            fresh.append(job)
        seq = self._seq + 1
        kinds = KindsUpdate({}, frozenset())
        state: dict[StateKey, Kept] = {}
        stored: list[Batch] = []
        try:
            if fresh:
                self._cur.begin()
                stored, kinds, state = self._write(seq, [j.batch for j in fresh])
                self._cur.commit()
        except Exception as e:  # the writer thread must outlive any failed group
            self._rollback()
            if len(fresh) > 1:
                # Batches of different requests (often different devices) share a group:
                # each is committed alone, so only the one that cannot be written fails.
                log.warning(
                    "commit of %d batches failed (%s); committing each alone", len(fresh), e
                )
                for job in fresh:
                    self._commit([job])
            else:
                log.error("commit of a batch failed: %s", e)
                err = StoreError(f"storage failed: {e}")
                for job in fresh:
                    _fail(job.future, err)
            fresh = []
        else:
            if fresh:
                self._seq = seq
                self._series_kinds.advance(kinds)
                self._cumulative.advance(state)
                self._known_metrics.update(m.metric for j in fresh for m in j.batch.metrics)
                self._known_devices.update(d.device_id for j in fresh for d in j.batch.devices)
                now = time.time()
                self._seen.update(dict.fromkeys(keys_in_group, now))
                if self._on_commit is not None:
                    self._on_commit(time.perf_counter() - started, stored)
            for job in fresh:
                _resolve(job.future, WriteOutcome.STORED)
        for job in duplicates:
            _resolve(job.future, WriteOutcome.DUPLICATE)
        self._prune_keys()

    def _insert(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table through a relation: a quarter cheaper than register + INSERT."""
        if data.num_rows:
            self._cur.from_arrow(data).insert_into(table)

    def _write(
        self, seq: int, batches: list[Batch]
    ) -> tuple[list[Batch], KindsUpdate, dict[StateKey, Kept]]:
        """Store a group: cumulative points become deltas against the kept state, which is
        written in the same transaction; returns the batches as stored and what to adopt in
        memory after the commit."""
        kinds = self._series_kinds.fresh(batches)
        batches, state = self._cumulative.convert(batches)
        self._write_rows(seq, batches)
        samples = [b.samples for b in batches]
        _samples.cap_per_device(
            self._cur, {d for part in samples for d in part.device_id}, self._max_samples
        )
        self._write_catalogue(batches)
        self._write_devices(seq, batches)
        KnownSeriesKinds.persist(self._cur, kinds)
        CumulativeState.persist(self._cur, state)
        return batches, kinds, state

    def _write_rows(self, seq: int, batches: list[Batch]) -> None:
        """Append a converted group's data rows and its batch keys (the tables a lake keeps
        in DuckLake; see ``edgewatch.server.lake``)."""
        self._insert("points", numeric_table(seq, [b.numeric for b in batches]))
        self._insert(
            "exp_histograms", exp_histogram_table(seq, [b.exp_histograms for b in batches])
        )
        self._insert("histograms", histogram_table(seq, [b.histograms for b in batches]))
        samples = [b.samples for b in batches]
        self._insert("samples", sample_table(seq, [b.received_us for b in batches], samples))
        self._write_batch_keys(batches)

    def _write_batch_keys(self, batches: list[Batch]) -> None:
        """Record the group's Idempotency-Keys (a lake replica claims them in PostgreSQL
        instead)."""
        keyed = {
            (b.key_device_id, b.batch_key): b.received_us
            for b in batches
            if b.batch_key is not None and b.key_device_id is not None
        }
        if keyed:
            self._insert(
                "batch_keys",
                pa.table(
                    {
                        "device_id": [k[0] for k in keyed],
                        "batch_key": [k[1] for k in keyed],
                        "received_at": pa.array(list(keyed.values()), pa.timestamp("us")),
                    }
                ),
            )

    def _write_catalogue(self, batches: list[Batch]) -> None:
        metrics = {
            m.metric: m for b in batches for m in b.metrics if m.metric not in self._known_metrics
        }
        if metrics:
            rows = list(metrics.values())
            self._upsert_ignore(
                "metrics",
                pa.table(
                    {
                        "metric": [m.metric for m in rows],
                        "kind": [m.kind for m in rows],
                        "unit": [m.unit for m in rows],
                        "description": [m.description for m in rows],
                    }
                ),
            )
        series = {s: b.received_us for b in batches for s in b.new_series}
        if series:
            keys = list(series)
            self._upsert_ignore(
                "series",
                pa.table(
                    {
                        "device_id": [k[0] for k in keys],
                        "metric": [k[1] for k in keys],
                        "attrs": [k[2] for k in keys],
                        "first_seen": pa.array(list(series.values()), pa.timestamp("us")),
                    }
                ),
            )

    def _upsert_ignore(self, table: str, data: pa.Table) -> None:
        self._cur.register("_writer_rows", data)
        try:
            self._cur.execute(
                f"INSERT INTO {table} SELECT * FROM _writer_rows ON CONFLICT DO NOTHING"
            )
        finally:
            self._cur.unregister("_writer_rows")

    def _write_devices(self, seq: int, batches: list[Batch]) -> None:
        latest: dict[str, tuple[Batch, Any]] = {}
        for b in batches:
            for d in b.devices:
                latest[d.device_id] = (b, d)
        if not latest:
            return
        items = list(latest.values())
        data = pa.table(
            {
                "device_id": [d.device_id for _, d in items],
                "fleet": pa.array([d.fleet for _, d in items], pa.string()),
                "model_name": pa.array([d.model_name for _, d in items], pa.string()),
                "model_version": pa.array([d.model_version for _, d in items], pa.string()),
                "hardware": pa.array([d.hardware for _, d in items], pa.string()),
                "runtime": pa.array([d.runtime for _, d in items], pa.string()),
                "host_arch": pa.array([d.host_arch for _, d in items], pa.string()),
                "os_type": pa.array([d.os_type for _, d in items], pa.string()),
                "service_name": pa.array([d.service_name for _, d in items], pa.string()),
                "power_sources": pa.array([d.power_sources for _, d in items], pa.string()),
                "attributes": [d.attributes_json for _, d in items],
                "first_seen": pa.array([b.received_us for b, _ in items], pa.timestamp("us")),
                "last_seen": pa.array([b.received_us for b, _ in items], pa.timestamp("us")),
                "last_batch_key": pa.array([b.batch_key for b, _ in items], pa.string()),
                "clock_skew_s": pa.array([d.clock_skew_s for _, d in items], pa.float64()),
            }
        )
        self._cur.register("_writer_devices", data)
        try:
            # Before the registry moves on: a new device, or one whose model or version
            # differs from what it ran, starts a version span at the minute of its first data
            # point in this group (data time, as rollup buckets are), else at receive time.
            # Found first on the two small tables, so the common group without a switch
            # never reads the points. A second switch within the minute of the first (a
            # device switching right after its first report, or a compressed demo fleet)
            # replaces that minute's version: the later version ran that minute's end.
            changed = [
                r[0]
                for r in self._cur.execute(
                    """
                    SELECT u.device_id FROM _writer_devices u LEFT JOIN devices d USING (device_id)
                    WHERE d.device_id IS NULL
                       OR d.model_name IS DISTINCT FROM u.model_name
                       OR d.model_version IS DISTINCT FROM u.model_version
                    """
                ).fetchall()
            ]
            if changed:
                self._cur.execute(
                    """
                    INSERT INTO device_versions
                    SELECT u.device_id,
                           coalesce(date_trunc('minute', least(
                               (SELECT min(ts) FROM points p
                                WHERE p.seq = $seq AND p.device_id = u.device_id),
                               (SELECT min(ts) FROM exp_histograms e
                                WHERE e.seq = $seq AND e.device_id = u.device_id))),
                               u.first_seen),
                           u.model_name, u.model_version
                    FROM _writer_devices u
                    WHERE u.device_id IN (SELECT unnest($changed::VARCHAR[]))
                    ON CONFLICT (device_id, since) DO UPDATE SET
                        model_name = excluded.model_name, model_version = excluded.model_version
                    """,
                    {"seq": seq, "changed": changed},
                )
            self._cur.execute(
                """
                UPDATE devices SET
                    fleet = u.fleet, model_name = u.model_name, model_version = u.model_version,
                    hardware = u.hardware, runtime = u.runtime, host_arch = u.host_arch,
                    os_type = u.os_type, service_name = u.service_name,
                    power_sources = u.power_sources, attributes = u.attributes,
                    last_seen = greatest(devices.last_seen, u.last_seen),
                    last_batch_key = coalesce(u.last_batch_key, devices.last_batch_key),
                    clock_skew_s = coalesce(u.clock_skew_s, devices.clock_skew_s)
                FROM _writer_devices u WHERE devices.device_id = u.device_id
                """
            )
            new = [d for d in latest if d not in self._known_devices]
            if new:
                self._cur.execute(
                    "INSERT INTO devices SELECT * FROM _writer_devices"
                    " WHERE device_id IN (SELECT unnest(?::VARCHAR[]))",
                    [new],
                )
        finally:
            self._cur.unregister("_writer_devices")

    # -- idempotency keys -----------------------------------------------------------------

    def _max_seq(self) -> int:
        row = self._cur.execute(
            "SELECT greatest((SELECT max(seq) FROM points), (SELECT max(seq) FROM exp_histograms),"
            " (SELECT max(seq) FROM histograms))"
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _load_keys(self) -> dict[tuple[str, str], float]:
        rows = self._cur.execute(
            "SELECT device_id, batch_key, epoch(received_at) FROM batch_keys WHERE received_at > ?",
            [utc_datetime(time.time() - self._window_s)],
        ).fetchall()
        return {(r[0], r[1]): float(r[2]) for r in rows}

    def _prune_keys(self) -> None:
        if time.monotonic() - self._last_prune < 60.0:
            return
        self._last_prune = time.monotonic()
        horizon = time.time() - self._window_s
        self._seen = {k: t for k, t in self._seen.items() if t > horizon}


def _key_of(batch: Batch) -> tuple[str, str] | None:
    if batch.batch_key is None or batch.key_device_id is None:
        return None
    return (batch.key_device_id, batch.batch_key)
