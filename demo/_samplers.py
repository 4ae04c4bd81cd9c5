"""Simulated device samplers for the demo fleet: power, process memory, process CPU and
temperature.

The demo runs on machines without the devices' sensors, so every value here is simulated and
says so: power readings carry ``edgewatch.power.source=simulated`` and every reading carries
``edgewatch.simulated=true``. Values follow the hardware label (a Raspberry Pi 4 draws 3–6 W,
a Jetson Nano 5–10 W, an x86 gateway 15–30 W) and the incidents in effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edgewatch.collector import Reading, semconv
from edgewatch.demo._incidents import DeviceConditions

SIMULATED_ATTRIBUTE = "edgewatch.simulated"
"""Attribute (and resource attribute) that marks simulated values."""
_SIMULATED = {SIMULATED_ATTRIBUTE: "true"}


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    """Typical figures of one kind of edge device, from their vendors' data sheets and reviews."""

    power_w: tuple[float, float]
    """Power range under an inference workload, watts."""
    memory_mb: float
    """Resident memory of the inference process (Python, onnxruntime, the model)."""
    temperature_c: tuple[float, float]
    """SoC/CPU temperature range under load, °C."""
    cpu: tuple[float, float]
    """CPU utilisation range of the inference process at the demo's load (0–1, all cores)."""


HARDWARE: dict[str, HardwareProfile] = {
    "rpi4": HardwareProfile(
        power_w=(3.0, 6.0), memory_mb=95.0, temperature_c=(48.0, 62.0), cpu=(0.20, 0.40)
    ),
    "jetson-nano": HardwareProfile(
        power_w=(5.0, 10.0), memory_mb=160.0, temperature_c=(40.0, 55.0), cpu=(0.12, 0.25)
    ),
    "x86-gateway": HardwareProfile(
        power_w=(15.0, 30.0), memory_mb=130.0, temperature_c=(45.0, 60.0), cpu=(0.04, 0.12)
    ),
}
_MAX_CPU = 0.98
"""A saturated process still leaves the scheduler a little: utilisation never reads 100 %."""


def _profile(hardware: str) -> HardwareProfile:
    try:
        return HARDWARE[hardware]
    except KeyError:
        raise ValueError(
            f"unknown hardware label {hardware!r}; expected one of {', '.join(HARDWARE)}"
        ) from None


def _in_range(rng: np.random.Generator, low: float, high: float) -> float:
    """A value around the middle of ``[low, high]`` that stays inside it."""
    middle, spread = (low + high) / 2, (high - low) / 8
    return float(np.clip(rng.normal(middle, spread), low, high))


class _ConditionedSampler:
    """A simulated sampler whose values follow the hardware profile and the incidents in effect
    at ``scenario_time_s()``; ``seed`` seeds its own generator."""

    def __init__(
        self,
        hardware: str,
        conditions: DeviceConditions,
        scenario_time_s: Callable[[], float],
        seed: int = 0,
    ) -> None:
        self._profile = _profile(hardware)
        self._conditions = conditions
        self._now = scenario_time_s
        self._rng = np.random.default_rng(seed)


class SimulatedPowerSampler(_ConditionedSampler):
    """Simulated ``hw.power`` in watts, scaled by any ``power_increase`` incident."""

    name = "simulated-power"

    def sample(self) -> Sequence[Reading]:
        watts = _in_range(self._rng, *self._profile.power_w)
        watts *= self._conditions.power_factor(self._now())
        attributes = {semconv.POWER_SOURCE: semconv.POWER_SIMULATED, **_SIMULATED}
        return [Reading(semconv.HW_POWER, watts, attributes, "W")]


class SimulatedMemorySampler(_ConditionedSampler):
    """Simulated resident memory of the inference process (bytes), growing during a leak."""

    name = "simulated-memory"

    def sample(self) -> Sequence[Reading]:
        base_bytes = self._profile.memory_mb * 2**20
        jitter = self._rng.normal(0.0, 0.01) * base_bytes
        value = base_bytes + jitter + self._conditions.leaked_bytes(self._now())
        return [Reading(semconv.PROCESS_MEMORY_USAGE, float(value), dict(_SIMULATED), "By")]


class SimulatedCpuSampler(_ConditionedSampler):
    """Simulated CPU utilisation of the inference process (0–1), busier in proportion to the
    extra work a ``latency_regression`` incident makes each inference do."""

    name = "simulated-cpu"

    def sample(self) -> Sequence[Reading]:
        busy = _in_range(self._rng, *self._profile.cpu) * self._conditions.slowdown(self._now())
        value = min(busy, _MAX_CPU)
        return [Reading(semconv.PROCESS_CPU_UTILIZATION, value, dict(_SIMULATED), "1")]


class SimulatedTemperatureSampler:
    """Simulated SoC temperature in °C within the hardware's usual range."""

    name = "simulated-temperature"

    def __init__(self, hardware: str, seed: int = 0) -> None:
        self._profile = _profile(hardware)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> Sequence[Reading]:
        celsius = _in_range(self._rng, *self._profile.temperature_c)
        attributes = {semconv.HW_ID: "soc", **_SIMULATED}
        return [Reading(semconv.HW_TEMPERATURE, celsius, attributes, "Cel")]
