"""All SQL of edgewatch: DuckDB schema and migrations, the single writer, rollups, retention,
tokens, and the typed queries every other part of the server uses."""

from __future__ import annotations

from edgewatch.server.store._alerting import AlertingTables
from edgewatch.server.store._baselines import BaselineInfo, BaselineTable, ProfileRow
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
from edgewatch.server.store._deliveries import DeliveryTable
from edgewatch.server.store._device_hours import (
    DeviceHour,
    VersionSpan,
    device_hours,
    version_spans,
)
from edgewatch.server.store._drops import DeviceDrops
from edgewatch.server.store._errors import (
    InvalidQueryError,
    NotFoundError,
    StoreBusyError,
    StoreClosedError,
    StoreError,
)
from edgewatch.server.store._evaluations import EvaluationRow, EvaluationTable
from edgewatch.server.store._maintenance import Retention
from edgewatch.server.store._performance import (
    ConfusionCell,
    ErrorSums,
    GroupCount,
    PerformanceReader,
)
from edgewatch.server.store._profiles import ModelProfile, ProfileTable
from edgewatch.server.store._sample_store import DEFAULT_REFERENCE_ROWS, SampleStore
from edgewatch.server.store._samples import SampleSet, SamplingSetting
from edgewatch.server.store._series import QUANTILES, SERIES_AGGS
from edgewatch.server.store._signals import SignalReader
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
    "AlertingTables",
    "AuthThrottledError",
    "BaselineInfo",
    "BaselineTable",
    "Batch",
    "ConfusionCell",
    "DeliveryTable",
    "Device",
    "DeviceDrops",
    "DeviceHour",
    "DeviceStatus",
    "DeviceUpdate",
    "Distribution",
    "ErrorSums",
    "EvaluationRow",
    "EvaluationTable",
    "ExpHistogramRows",
    "FleetSummary",
    "GroupCount",
    "HistogramRows",
    "InvalidQueryError",
    "MetricInfo",
    "ModelProfile",
    "ModelVersionSummary",
    "NewToken",
    "NotFoundError",
    "NumericRows",
    "PerformanceReader",
    "Principal",
    "ProfileRow",
    "ProfileTable",
    "Reading",
    "Resolution",
    "Retention",
    "SampleRows",
    "SampleSet",
    "SampleStore",
    "SamplingSetting",
    "Selection",
    "SeriesQuery",
    "SeriesResult",
    "SignalReader",
    "StatusThresholds",
    "Store",
    "StoreBusyError",
    "StoreClosedError",
    "StoreConfig",
    "StoreError",
    "TokenInfo",
    "VersionSpan",
    "WriteOutcome",
    "device_hours",
    "version_spans",
]
