"""Wire names: the OTLP resource attributes, metric names and attribute keys edgewatch uses.

OpenTelemetry semantic-convention names where they exist; ``edgewatch.*`` otherwise. The
server imports this module (and only this module) from the collector, so both ends agree.
"""

from __future__ import annotations

from typing import Final

# Resource attributes
DEVICE_ID: Final = "device.id"
DEVICE_MODEL: Final = "device.model.identifier"
HOST_ARCH: Final = "host.arch"
OS_TYPE: Final = "os.type"
SERVICE_NAME: Final = "service.name"
FLEET: Final = "edgewatch.fleet"
HARDWARE: Final = "edgewatch.hardware"
MODEL_NAME: Final = "ml.model.name"
MODEL_VERSION: Final = "ml.model.version"
RUNTIME: Final = "ml.runtime"
POWER_SOURCES: Final = "edgewatch.power.sources"
"""Comma-separated power sources found on the device, or ``none``: never a fake 0 W."""

# Inference metrics
INFERENCE_DURATION: Final = "ml.inference.duration"
"""Exponential histogram, seconds."""
INFERENCE_COUNT: Final = "ml.inference.count"
"""Delta sum by ``OUTCOME``."""
PREDICTION_CLASS_COUNT: Final = "ml.prediction.class.count"
"""Delta sum by ``PREDICTION_CLASS``."""
PREDICTION_SCORE: Final = "ml.prediction.score"
"""Exponential histogram of the score/confidence of each prediction."""
FEATURE_VALUE: Final = "ml.feature.value"
"""Exponential histogram per numeric feature (``FEATURE_NAME``)."""
FEATURE_CATEGORY_COUNT: Final = "ml.feature.category.count"
"""Delta sum per categorical feature and category (``FEATURE_NAME``, ``FEATURE_CATEGORY``)."""
FEATURE_MISSING_COUNT: Final = "ml.feature.missing.count"
"""Delta sum of NaN/None values per feature."""
LABEL_COUNT: Final = "ml.label.count"
"""Delta sum: labelled predictions by ``PREDICTION_CLASS`` × ``LABEL_CLASS`` (a confusion matrix),
stamped with the start and end of the interval the inference happened in, not the label's."""
PREDICTION_ERROR: Final = "ml.prediction.error"
"""Exponential histogram of prediction - truth for labelled regression predictions (as above)."""
PREDICTION_ABS_ERROR: Final = "ml.prediction.error.abs"
"""Exponential histogram of |prediction - truth| (its sum over count is the MAE)."""
PREDICTION_SQUARED_ERROR: Final = "ml.prediction.error.squared"
"""Delta sum (double) of (prediction - truth)² for RMSE."""
INFERENCE_ENERGY: Final = "ml.inference.energy"
"""Gauge, joules per inference over the export interval (only when a power source exists)."""

# Device metrics
PROCESS_MEMORY_USAGE: Final = "process.memory.usage"
SYSTEM_MEMORY_USAGE: Final = "system.memory.usage"
SYSTEM_MEMORY_UTILIZATION: Final = "system.memory.utilization"
PROCESS_CPU_UTILIZATION: Final = "process.cpu.utilization"
SYSTEM_CPU_UTILIZATION: Final = "system.cpu.utilization"
HW_POWER: Final = "hw.power"
"""Gauge, watts, one point per source (``POWER_SOURCE``)."""
HW_TEMPERATURE: Final = "hw.temperature"
"""Gauge, °C, one point per sensor (``HW_ID``)."""
HW_BATTERY_CHARGE: Final = "hw.battery.charge"
"""Gauge, ratio 0..1."""

# Collector self-telemetry
SPOOL_DEPTH: Final = "edgewatch.collector.spool.depth"
SPOOL_SIZE: Final = "edgewatch.collector.spool.size"
BATCHES: Final = "edgewatch.collector.batches"
"""Delta sum by ``RESULT`` (sent, failed, dropped, quarantined)."""
LAST_SUCCESS: Final = "edgewatch.collector.last_success"
"""Gauge, unix seconds of the last acknowledged export."""
SAMPLER_ERRORS: Final = "edgewatch.collector.sampler.errors"
LABELS_UNMATCHED: Final = "edgewatch.collector.labels.unmatched"
"""Delta sum of labels that found no prediction, by ``REASON`` (``LABEL_*`` below)."""
DROPPED: Final = "edgewatch.collector.dropped"
"""Delta sum of observations dropped by ``REASON``."""
DROPPED_TOTAL: Final = "edgewatch.collector.dropped.total"
"""Gauge: inferences lost on the device by ``REASON`` since its spool began (a level that
survives restarts and lost batches; the newest batch carries the newest total). Sent once
something was lost."""
BATCHES_DROPPED_TOTAL: Final = "edgewatch.collector.batches.dropped.total"
"""Gauge: spooled batches lost by ``REASON`` since the spool began (as ``DROPPED_TOTAL``)."""
LAST_DROP: Final = "edgewatch.collector.last_drop"
"""Gauge, unix seconds of the device's last loss (sent with the totals above)."""

# Attribute keys
OUTCOME: Final = "ml.inference.outcome"
OUTCOME_OK: Final = "ok"
OUTCOME_ERROR: Final = "error"
PREDICTION_CLASS: Final = "ml.prediction.class"
LABEL_CLASS: Final = "ml.label.class"
"""The true class a late label reported (capped like ``PREDICTION_CLASS``; ``__other__`` beyond)."""
LABEL_UNKNOWN: Final = "unknown"
"""A label for an id this device never issued (or issued before a crash lost its table)."""
LABEL_EVICTED: Final = "evicted"
"""A label for a prediction pushed out of the bounded table of unlabelled predictions."""
LABEL_DUPLICATE: Final = "duplicate"
"""A second label for the same prediction (the first one counts)."""
LABEL_INVALID: Final = "invalid"
"""A label that cannot be joined (no class or score recorded, or a non-numeric regression truth)."""
FEATURE_NAME: Final = "ml.feature.name"
FEATURE_CATEGORY: Final = "ml.feature.category"
OTHER_CATEGORY: Final = "__other__"
POWER_SOURCE: Final = "edgewatch.power.source"
HW_ID: Final = "hw.id"
HW_NAME: Final = "hw.name"
"""Human-readable sensor or rail name (e.g. RAPL ``package-0``, INA3221 ``VDD_IN``)."""
HW_BATTERY_STATE: Final = "hw.battery.state"
"""``charging``, ``discharging``, ``full`` ... as the kernel reports it (lower case)."""
RESULT: Final = "edgewatch.result"
REASON: Final = "edgewatch.reason"
SAMPLER: Final = "edgewatch.sampler"

# Power sources
POWER_RAPL: Final = "rapl"
POWER_NVML: Final = "nvml"
POWER_INA3221: Final = "ina3221"
POWER_BATTERY: Final = "battery"
POWER_HWMON: Final = "hwmon"
POWER_ESTIMATE: Final = "estimate"
POWER_SIMULATED: Final = "simulated"
POWER_NONE: Final = "none"

# HTTP
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
METRICS_PATH: Final = "/v1/metrics"
LOGS_PATH: Final = "/v1/logs"
CONFIG_PATH: Final = "/api/v1/devices/{device_id}/config"
"""The device's remote configuration (sampling budget), polled with the device token."""

# Sampled rows (OTLP log records, one per row; opt-in)
EVENT_NAME: Final = "event.name"
SAMPLE_EVENT: Final = "edgewatch.sample"
"""``event.name`` of a sampled row; its body is a key-value list of the keys below."""
SAMPLE_FEATURES: Final = "features"
"""Body key: key-value list of feature name → number (double) or category (string)."""
SAMPLE_PREDICTION: Final = "prediction"
SAMPLE_SCORE: Final = "score"
