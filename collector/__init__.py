"""The on-device collector SDK: measures every inference and the device, exports OTLP.

Nothing runs at import time: a ``Monitor`` starts its one daemon thread when constructed.
"""

from __future__ import annotations

from edgewatch.collector import semconv
from edgewatch.collector._energy import EnergyFigure, EnergyMeter, SourceStatus
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
from edgewatch.collector._profile import ProfileError, ProfileOptions, profile_model
from edgewatch.collector._profile_report import ProfileReport, report_dict
from edgewatch.collector._profile_sample import Sample, SampleError, load_sample
from edgewatch.collector._sampling import SamplingConfig
from edgewatch.collector._sender import Sender
from edgewatch.collector._spool import Spool, SpooledBatch
from edgewatch.collector._system import (
    BatteryChargeSampler,
    ProcessSampler,
    SystemSampler,
    TemperatureSampler,
)
from edgewatch.collector._thermal import ThermalSummary, ThermalWatch
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
    "EnergyFigure",
    "EnergyMeter",
    "HttpTransport",
    "HwmonPowerSampler",
    "Ina3221Sampler",
    "Monitor",
    "NvmlSampler",
    "Observation",
    "OnnxSession",
    "ProcessSampler",
    "ProfileError",
    "ProfileOptions",
    "ProfileReport",
    "RaplSampler",
    "Reading",
    "Sample",
    "SampleError",
    "Sampler",
    "SamplerError",
    "SamplingConfig",
    "Sender",
    "SourceStatus",
    "Spool",
    "SpooledBatch",
    "SystemSampler",
    "TemperatureSampler",
    "ThermalSummary",
    "ThermalWatch",
    "Transport",
    "TransportResponse",
    "default_samplers",
    "detect_power_samplers",
    "load_sample",
    "profile_model",
    "report_dict",
    "semconv",
]
