"""The store interface: what the server asks of storage, as Protocols a second backend
(DuckLake replicas) implements beside the embedded DuckDB :class:`Store`.

One protocol per area, composed into :class:`StoreProtocol`. Every method returns the
store's own value types and raises only :class:`StoreError` and its subclasses; no DuckDB
type crosses it.

One time type: every instant that crosses it (window bounds, ``now``, first and last seen,
bucket starts, creation and expiry times) is an aware UTC ``datetime``; a naive one is an
``InvalidQueryError``. The store converts it once, at the SQL boundary (``_time``). Durations
(a bucket ``step_s``, a ``period_s``, a raise's ``for_s``) and measured times (latencies, clock
skew) are seconds as floats, as on the REST contract. Unix seconds or microseconds stay inside
the store, where numeric columns of many points need them (a ``Batch``'s ``ts_us``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Protocol

from edgewatch.detectors import ExpHistogram
from edgewatch.server.store._baselines import BaselineInfo, ProfileRow
from edgewatch.server.store._batch import Batch, WriteOutcome
from edgewatch.server.store._device_hours import DeviceHour, VersionSpan
from edgewatch.server.store._drops import DeviceDrops
from edgewatch.server.store._evaluations import EvaluationRow
from edgewatch.server.store._performance import ConfusionCell, ErrorSums, GroupCount
from edgewatch.server.store._profiles import ModelProfile
from edgewatch.server.store._samples import SampleSet, SamplingSetting
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
    TokenInfo,
)

JsonDict = dict[str, Any]
Attributes = tuple[tuple[str, str], ...]


class BaselineStore(Protocol):
    """Profiled reference data per model version (uploaded or a pinned window)."""

    def create(
        self,
        *,
        model_name: str,
        model_version: str,
        source: str,
        rows: int,
        features: Sequence[str],
        profiles: Sequence[ProfileRow],
        now: datetime,
        device_id: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> str:
        """Store a baseline and its profiles atomically; its new id."""

    def list(
        self, model_name: str | None = None, model_version: str | None = None
    ) -> list[BaselineInfo]:
        """Baselines, newest first, optionally for one model (version)."""

    def get(self, baseline_id: str) -> BaselineInfo:
        """One baseline with its profiles (``NotFoundError`` if unknown)."""

    def latest(
        self, model_name: str, model_version: str, device_id: str | None = None
    ) -> BaselineInfo | None:
        """The newest baseline of a model version (a device's own pinned one first)."""

    def delete(self, baseline_id: str) -> None:
        """Delete a baseline and its profiles (``NotFoundError`` if unknown)."""

    def reported_features(self, model_name: str) -> dict[str, str]:
        """Feature name → ``numeric`` or ``categorical`` as the model's devices report it."""


class ProfileStore(Protocol):
    """On-device profiles per (model, version, hardware class)."""

    def put(self, profile: ModelProfile) -> None:
        """Insert or replace the profile of its (model, version, hardware class)."""

    def list(self, model_name: str, model_version: str | None = None) -> list[ModelProfile]:
        """Profiles of a model (version), by version then hardware class."""


class EvaluationStore(Protocol):
    """Detector results over time."""

    def append(self, rows: Sequence[EvaluationRow]) -> None:
        """Store ``rows`` atomically (committed on return)."""

    def prune(self, before: datetime) -> None:
        """Delete results whose window ended before ``before``."""

    def query(
        self,
        *,
        start: datetime,
        end: datetime,
        model_name: str | None = None,
        model_version: str | None = None,
        device_id: str | None = None,
        feature: str | None = None,
        rule: str | None = None,
        limit: int = 10_000,
    ) -> list[EvaluationRow]:
        """Results whose window ends in ``[start, end]``, oldest first."""


class AlertRecordStore(Protocol):
    """Alerting state as JSON-ready dicts (the alerting types' ``to_dict`` form), so storage
    knows nothing of alerting types."""

    def alerts(self, rule: str | None = None) -> list[JsonDict]:
        """Current alerts (all rules, or one)."""

    def save_evaluation(
        self,
        rule: str,
        alerts: Iterable[JsonDict],
        removed: Iterable[str],
        transitions: Iterable[JsonDict],
        at: datetime,
    ) -> None:
        """Upsert alerts, delete removed ones, append history, stamp the rule: atomically."""

    def record_run(self, rule: str, at: datetime, error: str | None, *, skipped: int = 0) -> None:
        """Stamp a rule's evaluation time and last error; count evaluations skipped."""

    def rule_runs(self) -> dict[str, tuple[datetime | None, str | None, int]]:
        """Per rule: last evaluation time, last error, evaluations skipped."""

    def history(self, fingerprint: str | None = None) -> list[JsonDict]:
        """State changes, oldest first."""

    def put_silence(self, silence: JsonDict, created_at: datetime) -> None:
        """Insert or replace a silence by id."""

    def silences(self, silence_id: str | None = None) -> list[JsonDict]:
        """All silences oldest first, or the one with ``silence_id``."""

    def put_ack(self, ack: JsonDict) -> None:
        """Insert or replace the ack of one fingerprint."""

    def remove_ack(self, fingerprint: str) -> bool:
        """Drop an ack; whether there was one."""

    def acks(self) -> list[JsonDict]:
        """All acks."""

    def groups(self) -> list[JsonDict]:
        """All notification groups."""

    def save_groups(self, groups: Iterable[tuple[str, JsonDict]], removed: Iterable[str]) -> None:
        """Upsert groups by key and delete removed keys atomically."""


class DeliveryRecordStore(Protocol):
    """The durable notification queue, deliveries as JSON-ready dicts keyed by id."""

    def enqueue(self, delivery: JsonDict, created_at: datetime, next_at: datetime) -> bool:
        """Insert a pending delivery, superseding pending ones with its coalesce key;
        ``False`` when the id already exists."""

    def update(self, delivery_id: str, change: Callable[[JsonDict], JsonDict | None]) -> bool:
        """Apply ``change`` to the stored delivery atomically; ``False`` if unknown."""

    def due(self, now: datetime, receiver: str | None, limit: int) -> list[JsonDict]:
        """Pending deliveries due at ``now``, oldest first."""

    def get(self, delivery_id: str) -> JsonDict | None:
        """One delivery."""

    def select(
        self, state: str | None, receiver: str | None, limit: int = 10_000
    ) -> list[JsonDict]:
        """Deliveries filtered by state and receiver, oldest first."""

    def pending_receivers(self) -> list[str]:
        """Receivers that have pending deliveries."""


class SignalStore(Protocol):
    """Category counts of delta counters and the attribute values a selection reported."""

    def category_counts(
        self,
        metric: str,
        key: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection,
        attributes: Attributes = (),
    ) -> dict[str, int]:
        """Sum of a delta counter per value of the point attribute ``key`` in the window."""

    def category_counts_by(
        self,
        metric: str,
        key: str,
        by: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection,
        attributes: Attributes = (),
    ) -> dict[str, dict[str, int]]:
        """``category_counts`` per value of the point attribute ``by``."""

    def feature_names(self, metric: str, selection: Selection) -> list[str]:
        """Feature names stored for ``metric`` on the selected devices."""

    def attribute_values(self, metric: str, key: str, selection: Selection) -> list[str]:
        """Every value of the point attribute ``key`` stored for ``metric``, sorted."""


class PerformanceStore(Protocol):
    """Label counts, error sums and inference counts per time bucket and group."""

    def confusion(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[ConfusionCell]:
        """Label counts by predicted × actual class."""

    def inferences(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[GroupCount]:
        """Inferences (every outcome) per bucket."""

    def errors(
        self, *, start: datetime, end: datetime, step_s: float, selection: Selection, group: str
    ) -> list[ErrorSums]:
        """Regression error sums per bucket."""

    def members(self, selection: Selection) -> list[tuple[str, str | None, str | None]]:
        """(device, model name, model version) of every selected device."""


class SampleStoreProtocol(Protocol):
    """Sampled rows, per-device sampling budgets and reference samples."""

    def setting(self, device_id: str, *, now: datetime | None = None) -> SamplingSetting:
        """The sampling budget in force for a device."""

    def set_base(
        self,
        device_id: str,
        *,
        enabled: bool,
        rows_per_hour: int | None,
        bytes_per_day: int | None,
    ) -> SamplingSetting:
        """Set a device's lasting budget; the budget now in force."""

    def raise_budget(
        self,
        device_ids: Sequence[str],
        *,
        rows_per_hour: int,
        for_s: float,
        reason: str,
        bytes_per_day: int | None = None,
    ) -> list[SamplingSetting]:
        """Raise devices' budgets for ``for_s`` seconds; the budgets now in force."""

    def devices_of_version(self, model_name: str, model_version: str) -> list[str]:
        """Registered devices running a model version."""

    def current(
        self,
        *,
        model_name: str,
        model_version: str,
        device_id: str | None,
        start: datetime,
        end: datetime,
        limit: int,
    ) -> SampleSet:
        """Sampled rows of a model version (optionally one device) in a window."""

    def save_reference(
        self,
        model_name: str,
        model_version: str,
        features: Sequence[dict[str, Any]],
        predictions: Sequence[str | None] | None = None,
        *,
        max_rows: int = ...,
        seed: int | None = None,
    ) -> int:
        """Keep a random sample of a baseline's rows; how many were kept."""

    def reference(self, model_name: str, model_version: str, *, limit: int) -> SampleSet:
        """At most ``limit`` random rows of a model version's reference sample."""


class IngestStore(Protocol):
    """Accepting batches and reporting whether the store can take more."""

    @property
    def ready(self) -> bool:
        """Open and able to write."""

    @property
    def queue_depth(self) -> int:
        """Batches waiting to be committed."""

    def submit(self, batch: Batch) -> Future[WriteOutcome]:
        """Queue a batch; the future resolves after its commit (``StoreBusyError`` when full)."""

    def known_series(self) -> list[tuple[str, str, str]]:
        """Every (device, metric, attributes) series stored, for the cardinality limiter."""


class TokenStore(Protocol):
    """Admin and device tokens, stored hashed."""

    def create_token(self, *, role: str, device_id: str | None = None, name: str = "") -> NewToken:
        """Create a token; the returned secret is never stored."""

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token at once."""

    def list_tokens(self) -> list[TokenInfo]:
        """Every token without its secret."""

    def verify_token(self, token: str) -> Principal | None:
        """Who a bearer token belongs to, or ``None``."""

    def cached_principal(self, token: str) -> Principal | None:
        """Who a recently verified token belongs to, without a storage read."""

    def has_admin_token(self) -> bool:
        """Whether an unrevoked admin token exists."""


class QueryStore(Protocol):
    """Devices, series, distributions and fleet summaries over measurements."""

    def list_devices(
        self,
        selection: Selection = ...,
        *,
        status: DeviceStatus | None = None,
        limit: int = 1000,
        offset: int = 0,
        now: datetime | None = None,
    ) -> list[Device]:
        """Devices matching a selection and liveness status, by id."""

    def get_device(self, device_id: str, *, now: datetime | None = None) -> Device:
        """One device (``NotFoundError`` if it never reported)."""

    def latest_readings(self, device_id: str, *, since: datetime) -> list[Reading]:
        """Newest value of each gauge series of a device since ``since``."""

    def device_drops(self, device_id: str) -> DeviceDrops | None:
        """What the device says it lost so far, if it ever lost any."""

    def last_seen_by_device(self) -> list[tuple[str, str, str, str, float]]:
        """(device, fleet, model name, model version, last seen in unix seconds), by device."""

    def online_by_version(self, *, now: datetime | None = None) -> list[tuple[str, str, int]]:
        """Devices online per (model name, model version)."""

    def series(self, query: SeriesQuery) -> SeriesResult:
        """One metric bucketed over time."""

    def distribution(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ...,
        attributes: Attributes = (),
    ) -> Distribution:
        """Merged histogram of a metric (or one feature) with p50/p95/p99."""

    def merged_histogram(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ...,
        attributes: Attributes = (),
        resolution: Resolution | None = None,
        premerged: bool = True,
    ) -> ExpHistogram:
        """Every histogram kind of the metric merged into one exponential histogram;
        ``premerged=False`` reads per-series rows where pre-merged ones answer the same."""

    def merged_histograms(
        self,
        metric: str,
        by: str,
        *,
        start: datetime,
        end: datetime,
        selection: Selection = ...,
        attributes: Attributes = (),
        resolution: Resolution | None = None,
        premerged: bool = True,
    ) -> dict[str, ExpHistogram]:
        """The merged histogram per value of the point attribute ``by``; ``premerged`` as in
        ``merged_histogram``."""

    def histograms_by_period(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        period_s: float,
        selection: Selection = ...,
    ) -> dict[tuple[str, datetime], ExpHistogram]:
        """The merged histogram per (device, period start)."""

    def fleet_summary(
        self,
        *,
        start: datetime,
        end: datetime,
        fleet: str | None = None,
        now: datetime | None = None,
    ) -> FleetSummary:
        """Devices per model version, inference rate, error rate, latency quantiles."""

    def device_hours(
        self, model_name: str, start: datetime, end: datetime, *, period_s: float = ...
    ) -> list[DeviceHour]:
        """Per device, period and version summaries of a model's devices (rollout gate
        evidence), each period attributed to the version that produced it."""

    def version_spans(self, model_name: str | None = None) -> list[VersionSpan]:
        """Every device's model version spans (of ``model_name``'s devices when given)."""

    def row_counts(self, device_id: str | None = None) -> dict[str, int]:
        """Rows per data table (optionally of one device)."""


class MaintenanceStore(Protocol):
    """Rollups, retention and shutdown."""

    def roll_up(self, *, hours: bool = True) -> None:
        """Bring the rollups up to the newest committed data."""

    def enforce_retention(self, now: datetime | None = None) -> None:
        """Delete rows past each resolution's retention."""

    def close(self) -> None:
        """Commit what is queued and release the storage (idempotent)."""


class StoreProtocol(IngestStore, TokenStore, QueryStore, MaintenanceStore, Protocol):
    """Everything the server keeps, in one object built once by the app; a backend
    implements the methods above and provides each area below."""

    @property
    def samples(self) -> SampleStoreProtocol:
        """Sampled rows, sampling budgets and reference samples."""

    @property
    def baselines(self) -> BaselineStore:
        """Profiled reference data per model version."""

    @property
    def profiles(self) -> ProfileStore:
        """On-device profiles."""

    @property
    def evaluations(self) -> EvaluationStore:
        """Detector results over time."""

    @property
    def alerting(self) -> AlertRecordStore:
        """Alerts, history, rule runs, silences, acks and groups."""

    @property
    def deliveries(self) -> DeliveryRecordStore:
        """The durable notification queue."""

    @property
    def signals(self) -> SignalStore:
        """Category counts and reported attribute values."""

    @property
    def performance(self) -> PerformanceStore:
        """Label and inference sums for model performance."""
