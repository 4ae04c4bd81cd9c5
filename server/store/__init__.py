"""All SQL of edgewatch: DuckDB schema and migrations, the single writer, rollups, retention,
tokens, and the typed queries every other part of the server uses, behind one interface
(:class:`StoreProtocol`) that :class:`Store`, the embedded DuckDB file, implements."""

from __future__ import annotations

from edgewatch.server.store._baselines import BaselineInfo, ProfileRow, newest_for
from edgewatch.server.store._batch import (
    Batch,
    DeviceUpdate,
    ExpHistogramRows,
    HistogramRows,
    MetricInfo,
    NumericRows,
    SampleRows,
    WriteOutcome,
)
from edgewatch.server.store._device_hours import DeviceHour, VersionSpan
from edgewatch.server.store._drops import DeviceDrops
from edgewatch.server.store._errors import (
    InvalidQueryError,
    NotFoundError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
)
from edgewatch.server.store._evaluations import EvaluationRow
from edgewatch.server.store._maintenance import Retention
from edgewatch.server.store._performance import (
    ConfusionCell,
    ErrorSums,
    GroupCount,
)
from edgewatch.server.store._profiles import ModelProfile
from edgewatch.server.store._protocol import (
    AlertRecordStore,
    BaselineStore,
    DeliveryRecordStore,
    EvaluationStore,
    IngestStore,
    MaintenanceStore,
    PerformanceStore,
    ProfileStore,
    QueryStore,
    SampleStoreProtocol,
    SignalStore,
    StoreProtocol,
    TokenStore,
)
from edgewatch.server.store._sample_store import DEFAULT_REFERENCE_ROWS
from edgewatch.server.store._samples import SampleSet, SamplingSetting
from edgewatch.server.store._series import QUANTILES, SERIES_AGGS
from edgewatch.server.store._store import Store, StoreConfig
from edgewatch.server.store._tokens import ROLES, AuthThrottledError
from edgewatch.server.store._types import (
    Device,
    DeviceStatus,
    Distribution,
    FleetSummary,
    ModelVersionSummary,
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

__all__ = [
    "DEFAULT_REFERENCE_ROWS",
    "QUANTILES",
    "ROLES",
    "SERIES_AGGS",
    "AlertRecordStore",
    "AuthThrottledError",
    "BaselineInfo",
    "BaselineStore",
    "Batch",
    "ConfusionCell",
    "DeliveryRecordStore",
    "Device",
    "DeviceDrops",
    "DeviceHour",
    "DeviceStatus",
    "DeviceUpdate",
    "Distribution",
    "ErrorSums",
    "EvaluationRow",
    "EvaluationStore",
    "ExpHistogramRows",
    "FleetSummary",
    "GroupCount",
    "HistogramRows",
    "IngestStore",
    "InvalidQueryError",
    "MaintenanceStore",
    "MetricInfo",
    "ModelProfile",
    "ModelVersionSummary",
    "NewToken",
    "NotFoundError",
    "NumericRows",
    "PerformanceStore",
    "Principal",
    "ProfileRow",
    "ProfileStore",
    "QueryStore",
    "Reading",
    "Resolution",
    "Retention",
    "SampleRows",
    "SampleSet",
    "SampleStoreProtocol",
    "SamplingSetting",
    "Selection",
    "SeriesQuery",
    "SeriesResult",
    "SignalStore",
    "StatusThresholds",
    "Store",
    "StoreBusyError",
    "StoreClosedError",
    "StoreConfig",
    "StoreError",
    "StoreProtocol",
    "TokenInfo",
    "TokenStore",
    "VersionSpan",
    "WriteOutcome",
    "newest_for",
]
