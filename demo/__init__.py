"""A demo fleet: simulated devices running a real ONNX model through the collector SDK, with
incidents (drift, unseen class, throttling, leaks, power, outages, a bad rollout) injected on
schedule. Power, memory and temperature are simulated and labelled so."""

from __future__ import annotations

from edgewatch.demo._baseline import COLUMNS as BASELINE_COLUMNS
from edgewatch.demo._baseline import write_baselines
from edgewatch.demo._cli import build_parser, main
from edgewatch.demo._clock import ScenarioClock
from edgewatch.demo._device import DeviceStatus, MonitorSettings, SimulatedDevice
from edgewatch.demo._fleet import Fleet, default_interval_s
from edgewatch.demo._incidents import DeviceConditions, gaussian_blur
from edgewatch.demo._model import (
    CLASSES,
    FEATURE_NAMES,
    MODEL_NAME,
    V1,
    V2,
    V2_BAD,
    WITHHELD_DIGIT,
    DigitsData,
    ModelSet,
    OnnxClassifier,
    load_data,
    load_models,
)
from edgewatch.demo._monitor import MonitorFactory, MonitorLike, ObservationLike, collector_monitor
from edgewatch.demo._samplers import (
    HARDWARE,
    SIMULATED_ATTRIBUTE,
    HardwareProfile,
    SimulatedCpuSampler,
    SimulatedMemorySampler,
    SimulatedPowerSampler,
    SimulatedTemperatureSampler,
)
from edgewatch.demo._scenario import (
    DeviceSpec,
    Incident,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from edgewatch.demo._stream import Frame, InputStream
from edgewatch.demo._transport import FailingTransport, HttpTransport, SimulatedOutageError

__all__ = [
    "BASELINE_COLUMNS",
    "CLASSES",
    "FEATURE_NAMES",
    "HARDWARE",
    "MODEL_NAME",
    "SIMULATED_ATTRIBUTE",
    "V1",
    "V2",
    "V2_BAD",
    "WITHHELD_DIGIT",
    "DeviceConditions",
    "DeviceSpec",
    "DeviceStatus",
    "DigitsData",
    "FailingTransport",
    "Fleet",
    "Frame",
    "HardwareProfile",
    "HttpTransport",
    "Incident",
    "InputStream",
    "ModelSet",
    "MonitorFactory",
    "MonitorLike",
    "MonitorSettings",
    "ObservationLike",
    "OnnxClassifier",
    "Scenario",
    "ScenarioClock",
    "ScenarioError",
    "SimulatedCpuSampler",
    "SimulatedDevice",
    "SimulatedMemorySampler",
    "SimulatedOutageError",
    "SimulatedPowerSampler",
    "SimulatedTemperatureSampler",
    "build_parser",
    "collector_monitor",
    "default_interval_s",
    "gaussian_blur",
    "load_data",
    "load_models",
    "load_scenario",
    "main",
    "parse_scenario",
    "write_baselines",
]
