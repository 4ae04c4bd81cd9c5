"""The on-device collector SDK: measures every inference and the device, exports OTLP.

Nothing runs at import time: a ``Monitor`` starts its one daemon thread when constructed.
"""

from __future__ import annotations

from edgewatch.collector import semconv
from edgewatch.collector._monitor import Monitor, Observation, default_samplers
from edgewatch.collector._onnx import OnnxSession
from edgewatch.collector._power import (
    BatteryPowerSampler,
    HwmonPowerSampler,
    Ina3221Sampler,
    NvmlSampler,
    RaplSampler,
    detect_power_samplers,
)
from edgewatch.collector._sampling import SamplingConfig
from edgewatch.collector._sender import Sender
from edgewatch.collector._spool import Spool, SpooledBatch
from edgewatch.collector._system import (
    BatteryChargeSampler,
    ProcessSampler,
    SystemSampler,
    TemperatureSampler,
)
from edgewatch.collector._transport import HttpTransport
from edgewatch.collector._types import (
    Reading,
    Sampler,
    SamplerError,
    Transport,
    TransportResponse,
)

__all__ = [
    "BatteryChargeSampler",
    "BatteryPowerSampler",
    "HttpTransport",
    "HwmonPowerSampler",
    "Ina3221Sampler",
    "Monitor",
    "NvmlSampler",
    "Observation",
    "OnnxSession",
    "ProcessSampler",
    "RaplSampler",
    "Reading",
    "Sampler",
    "SamplerError",
    "SamplingConfig",
    "Sender",
    "Spool",
    "SpooledBatch",
    "SystemSampler",
    "TemperatureSampler",
    "Transport",
    "TransportResponse",
    "default_samplers",
    "detect_power_samplers",
    "semconv",
]
