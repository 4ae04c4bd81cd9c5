"""``Store``: the one object that owns the DuckDB file — writer, maintenance, typed queries.

Everything else (REST API, detection scheduler, dashboard API) talks to the database only
through these methods; DuckDB errors never leave this class untranslated.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from edgewatch.contract import utc_now
from edgewatch.detectors import ExpHistogram
from edgewatch.server.store import (
    _device_hours,
    _devices,
    _distributions,
    _drops,
    _fleet,
    _maintenance,
    _series,
    _tokens,
)
from edgewatch.server.store._alerting import AlertingTables
from edgewatch.server.store._baselines import BaselineTable
from edgewatch.server.store._batch import Batch, WriteOutcome
from edgewatch.server.store._deliveries import DeliveryTable
from edgewatch.server.store._device_hours import DeviceHour, VersionSpan
from edgewatch.server.store._drops import DeviceDrops
from edgewatch.server.store._errors import StoreError
from edgewatch.server.store._evaluations import EvaluationTable
from edgewatch.server.store._gateway import LONG_WRITE_S, Gateway
from edgewatch.server.store._migrations import migrate
from edgewatch.server.store._performance import PerformanceReader
from edgewatch.server.store._profiles import ProfileTable
from edgewatch.server.store._sample_store import SampleStore
from edgewatch.server.store._signals import SignalReader
from edgewatch.server.store._time import checked_or_now
from edgewatch.server.store._types import (
    Device,
    DeviceStatus,
    Distribution,
    FleetSummary,
    NewToken,
    Principal,
    Reading,
    Resolution,
    Selection,
    SeriesQuery,
    SeriesResult,
    StatusThresholds,
    TokenInfo,
)
from edgewatch.server.store._writer import CommitObserver, Writer

log = logging.getLogger(__name__)


ALL_DEVICES = Selection()
"""The selection that matches every device."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Tuning of the writer, rollups and retention (defaults suit one server on 2 cores)."""

    max_queue: int = 256
    max_group_points: int = 50_000
    idempotency_window_s: float = 86_400.0
    retention: _maintenance.Retention = field(
        default_factory=lambda: _maintenance.Retention(
            raw_s=7 * 86_400.0, minute_s=30 * 86_400.0, hour_s=400 * 86_400.0, batch_keys_s=86_400.0
        )
    )
    thresholds: StatusThresholds = field(default_factory=StatusThresholds)
    rollup_interval_s: float = 10.0
    hourly_rollup_interval_s: float = 300.0
    rollup_chunk_groups: int = 8
    retention_interval_s: float = 3_600.0
    maintenance: bool = True
    max_samples_per_device: int = 100_000


class Store:
    """The embedded DuckDB implementation of :class:`StoreProtocol`.

    Open with ``Store.open(path)``; close with ``close()`` (also a context manager). Every
    read and write goes through one :class:`Gateway`, which translates DuckDB errors; the
    areas (``baselines``, ``alerting``, ...) are built here once and share it."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        config: StoreConfig,
        on_commit: CommitObserver | None,
        writer: Writer | None = None,
    ) -> None:
        """Wrap an open, migrated connection; ``writer`` replaces the embedded single writer
        (a lake replica brings its own, see ``edgewatch.server.lake``)."""
        self.config = config
        self._con = con
        self._tokens = _tokens.TokenVerifier()
        self._writer = writer or Writer(
            con,
            max_queue=config.max_queue,
            max_group_points=config.max_group_points,
            idempotency_window_s=config.idempotency_window_s,
            on_commit=on_commit,
            max_samples_per_device=config.max_samples_per_device,
        )
        self._db = Gateway(con, self._writer, open_cursor=self._open_cursor)
        self.samples = SampleStore(self._db)
        """Sampled rows, sampling budgets and reference samples."""
        self.baselines = BaselineTable(self._db)
        """Profiled reference data per model version."""
        self.profiles = ProfileTable(self._db)
        """On-device profiles per model version and hardware class."""
        self.evaluations = EvaluationTable(self._db)
        """Detector results over time."""
        self.alerting = AlertingTables(self._db)
        """Alerts, their history, rule runs, silences, acks and notification groups."""
        self.deliveries = DeliveryTable(self._db)
        """The durable notification delivery queue."""
        self.signals = SignalReader(self._db)
        """Category counts and reported attribute values."""
        self.performance = PerformanceReader(self._db)
        """Label counts, error sums and inference counts for model performance."""
        self._rollup_lock = threading.Lock()
        self._stop = threading.Event()
        self._maintenance = threading.Thread(
            target=self._maintain, name="edgewatch-maintenance", daemon=True
        )
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        config: StoreConfig | None = None,
        *,
        on_commit: CommitObserver | None = None,
    ) -> Store:
        """Open (creating and migrating) the DuckDB file and start the writer."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(target)
        except duckdb.IOException as e:
            raise StoreError(
                f"cannot open {target}: {e} (is another edgewatch process holding the file?)"
            ) from e
        try:
            migrate(con)
            store = cls(con, config or StoreConfig(), on_commit)
        except duckdb.Error as e:
            con.close()
            raise StoreError(f"cannot prepare {target}: {e}") from e
        store._writer.start()
        if store.config.maintenance:
            store._maintenance.start()
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Commit queued batches, stop the threads and close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._maintenance.is_alive():
            self._maintenance.join(10.0)
        self._writer.close()
        self._db.close()
        self._con.close()

    # -- state ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Open and the writer is alive."""
        return not self._closed and self._writer.alive

    @property
    def queue_depth(self) -> int:
        """Batches waiting for the writer."""
        return self._writer.queue_depth

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new read cursor on the connection (a lake replica's sets its search path first)."""
        return self._con.cursor()

    # -- writes ---------------------------------------------------------------------------

    def submit(self, batch: Batch) -> Future[WriteOutcome]:
        """Queue a batch for the next group commit (``StoreBusyError`` when saturated)."""
        return self._writer.submit(batch)

    def create_token(self, *, role: str, device_id: str | None = None, name: str = "") -> NewToken:
        """Create an admin or device token; the returned secret is never stored."""
        now = utc_now()
        return self._db.write(
            lambda cur: _tokens.create_token(
                cur, role=role, device_id=device_id, name=name, now=now
            ),
            timeout_s=LONG_WRITE_S,
        )

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token at once (also in this process's verification cache)."""
        now = utc_now()
        info = self._db.write(
            lambda cur: _tokens.revoke_token(cur, token_id, now=now), timeout_s=LONG_WRITE_S
        )
        self._tokens.forget(token_id)
        return info

    def roll_up(self, *, hours: bool = True) -> None:
        """Bring the 1-minute (and 1-hour) rollups up to the newest committed batch, in chunks
        of ``rollup_chunk_groups`` commit groups (one transaction each).

        Rollups run on the calling thread's own cursor, beside the writer rather than on it:
        they only read committed raw rows (``seq`` up to the writer's last commit) and append
        to the rollup tables, which ingest never writes, so the two transactions cannot
        conflict, and DuckDB runs the aggregation without the GIL on the other core while
        ingest keeps committing. ``_rollup_lock`` keeps two rollups from reading the same
        watermark (which would count a chunk twice). Each chunk is its own transaction, and a
        series whose rows fail is left out of it (and logged) rather than stopping the rest.
        """
        seq = self._writer.last_seq
        chunk = self.config.rollup_chunk_groups
        with self._rollup_lock:
            while not self._db.read(lambda cur: _maintenance.roll_up_minutes(cur, seq, chunk)):
                pass
            if hours:
                while not self._db.read(lambda cur: _maintenance.roll_up_hours(cur, chunk)):
                    pass

    def enforce_retention(self, now: datetime | None = None) -> None:
        """Delete rows past each resolution's retention."""
        at = checked_or_now(now)
        self._db.write(
            lambda cur: _maintenance.enforce_retention(cur, self.config.retention, now=at),
            timeout_s=LONG_WRITE_S,
        )

    def _maintain(self) -> None:
        cfg = self.config
        last_hour = last_retention = time.monotonic()
        while not self._stop.wait(cfg.rollup_interval_s):
            try:
                now = time.monotonic()
                self.roll_up(hours=now - last_hour >= cfg.hourly_rollup_interval_s)
                if now - last_hour >= cfg.hourly_rollup_interval_s:
                    last_hour = now
                if now - last_retention >= cfg.retention_interval_s:
                    self.enforce_retention()
                    last_retention = now
            except StoreError as e:
                log.warning("maintenance failed, will retry: %s", e)

    # -- reads ----------------------------------------------------------------------------

    def list_tokens(self) -> list[TokenInfo]:
        """Every token without its secret."""
        return self._db.read(_tokens.list_tokens)

    def verify_token(self, token: str) -> Principal | None:
        """Who a bearer token belongs to, or ``None``; a legacy (scrypt) hash that verifies is
        rewritten as SHA-256 on the writer, not waited for."""
        return self._db.read(lambda cur: self._tokens.verify(cur, token, upgrade=self._writer.call))

    def cached_principal(self, token: str) -> Principal | None:
        """Who a recently verified token belongs to, without touching the database;
        ``None`` means "not known yet", so call ``verify_token``."""
        return self._tokens.cached(token)

    def has_admin_token(self) -> bool:
        """Whether an unrevoked admin token exists."""
        return any(t.role == "admin" and t.revoked_at is None for t in self.list_tokens())

    def list_devices(
        self,
        selection: Selection = ALL_DEVICES,
        *,
        status: DeviceStatus | None = None,
        limit: int = 1000,
        offset: int = 0,
        now: datetime | None = None,
    ) -> list[Device]:
        """Devices matching a selection and liveness status, by id."""
        return self._db.read(
            lambda cur: _devices.list_devices(
                cur,
                selection,
                status=status,
                now=checked_or_now(now),
                thresholds=self.config.thresholds,
                limit=limit,
                offset=offset,
            )
        )

    def get_device(self, device_id: str, *, now: datetime | None = None) -> Device:
        """One device (``NotFoundError`` if it never reported)."""
        return self._db.read(
            lambda cur: _devices.get_device(
                cur, device_id, now=checked_or_now(now), thresholds=self.config.thresholds
            )
        )

    def latest_readings(self, device_id: str, *, since: datetime) -> list[Reading]:
        """Newest value of each gauge series of a device since ``since``."""
        return self._db.read(lambda cur: _devices.latest_readings(cur, device_id, since=since))

    def device_drops(self, device_id: str) -> DeviceDrops | None:
        """What the device says it lost so far (its newest drop totals), if it ever lost any."""
        return self._db.read(lambda cur: _drops.device_drops(cur, device_id))

    def last_seen_by_device(self) -> list[tuple[str, str, str, str, float]]:
        """(device, fleet, model name, model version, last seen in unix seconds), by device."""
        return self._db.read(_devices.last_seen_by_device)

    def online_by_version(self, *, now: datetime | None = None) -> list[tuple[str, str, int]]:
        """Devices online per (model name, model version)."""
        return self._db.read(
            lambda cur: _devices.online_by_version(
                cur, now=checked_or_now(now), thresholds=self.config.thresholds
            )
        )

    def series(self, query: SeriesQuery) -> SeriesResult:
        """One metric bucketed over time (raw or rollups by step)."""
        return self._db.read(lambda cur: _series.query_series(cur, query))

    def distribution(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ALL_DEVICES,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> Distribution:
        """Merged histogram of a metric (or one feature) with p50/p95/p99."""
        return self._db.read(
            lambda cur: _distributions.query_distribution(
                cur,
                metric,
                start=start,
                end=end,
                selection=selection,
                attributes=attributes,
            )
        )

    def merged_histogram(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ALL_DEVICES,
        attributes: tuple[tuple[str, str], ...] = (),
        resolution: Resolution | None = None,
        premerged: bool = True,
    ) -> ExpHistogram:
        """Every histogram kind of the metric merged into one exponential histogram (for
        detectors); ``premerged=False`` reads per-series rows where pre-merged ones answer."""
        return self._db.read(
            lambda cur: _distributions.merged_histogram(
                cur,
                metric,
                start=start,
                end=end,
                selection=selection,
                attributes=attributes,
                resolution=resolution,
                premerged=premerged,
            )
        )

    def merged_histograms(
        self,
        metric: str,
        by: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ALL_DEVICES,
        attributes: tuple[tuple[str, str], ...] = (),
        resolution: Resolution | None = None,
        premerged: bool = True,
    ) -> dict[str, ExpHistogram]:
        """The merged histogram per value of the point attribute ``by`` (each feature), in one
        query rather than one per value; values without data in the window are absent.
        ``premerged=False`` reads per-series rows where pre-merged ones answer."""
        return self._db.read(
            lambda cur: _distributions.merged_histograms(
                cur,
                metric,
                by,
                start=start,
                end=end,
                selection=selection,
                attributes=attributes,
                resolution=resolution,
                premerged=premerged,
            )
        )

    def fleet_summary(
        self,
        *,
        start: datetime,
        end: datetime,
        fleet: str | None = None,
        now: datetime | None = None,
    ) -> FleetSummary:
        """Devices per model version, inference rate, error rate, latency quantiles."""
        return self._db.read(
            lambda cur: _fleet.fleet_summary(
                cur,
                start=start,
                end=end,
                now=checked_or_now(now),
                thresholds=self.config.thresholds,
                fleet=fleet,
            )
        )

    def known_series(self) -> list[tuple[str, str, str]]:
        """Every (device, metric, attributes) series stored, for the cardinality limiter."""
        rows = self._db.read(
            lambda cur: cur.execute("SELECT device_id, metric, attrs FROM series").fetchall()
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def histograms_by_period(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        period_s: float,
        selection: Selection = ALL_DEVICES,
    ) -> dict[tuple[str, datetime], ExpHistogram]:
        """The merged histogram of ``metric`` per (device, period start), in
        one query per histogram kind (the rollout gate's score histogram per device-hour)."""
        return self._db.read(
            lambda cur: _distributions.histograms_by_period(
                cur, metric, start=start, end=end, period_s=period_s, selection=selection
            )
        )

    def device_hours(
        self,
        model_name: str,
        start: datetime,
        end: datetime,
        *,
        period_s: float = _device_hours.HOUR_S,
    ) -> list[DeviceHour]:
        """Per device, period and version summaries of ``model_name``'s devices (the rollout
        gate's evidence), periods from ``start``'s to before ``end``, each attributed to the
        version that produced it; complete periods a device reported nothing are listed too."""
        return self._db.read(
            lambda cur: _device_hours.device_hours(cur, model_name, start, end, period_s=period_s)
        )

    def version_spans(self, model_name: str | None = None) -> list[VersionSpan]:
        """Every device's model version spans (of ``model_name``'s devices when given)."""
        return self._db.read(lambda cur: _device_hours.version_spans(cur, model_name))

    def row_counts(self, device_id: str | None = None) -> dict[str, int]:
        """Rows per data table (optionally for one device): what an operator checks after a crash."""
        where, params = ("WHERE device_id = ?", [device_id]) if device_id is not None else ("", [])

        def count(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
            counts = {}
            for table in _DATA_TABLES:
                row = cur.execute(f"SELECT count(*) FROM {table} {where}", params).fetchone()
                counts[table] = int(row[0]) if row else 0
            return counts

        return self._db.read(count)


_DATA_TABLES = (
    "points",
    "exp_histograms",
    "histograms",
    "points_1m",
    "points_1h",
    "exp_histograms_1m",
    "exp_histograms_1h",
    "samples",
)
