"""Simulated samplers: values in each hardware's range, labelled simulated, following incidents."""

from __future__ import annotations

import numpy as np
import pytest

from edgewatch.collector import Sampler, semconv
from edgewatch.demo import (
    HARDWARE,
    SIMULATED_ATTRIBUTE,
    V1,
    DeviceConditions,
    Incident,
    SimulatedCpuSampler,
    SimulatedMemorySampler,
    SimulatedPowerSampler,
    SimulatedTemperatureSampler,
)

HEALTHY = DeviceConditions(V1, [])
EXPECTED_WATTS = {"rpi4": (3, 6), "jetson-nano": (5, 10), "x86-gateway": (15, 30)}


def samplers(
    hardware: str, conditions: DeviceConditions = HEALTHY, t_s: float = 0.0
) -> list[Sampler]:
    return [
        SimulatedPowerSampler(hardware, conditions, lambda: t_s, seed=1),
        SimulatedMemorySampler(hardware, conditions, lambda: t_s, seed=1),
        SimulatedCpuSampler(hardware, conditions, lambda: t_s, seed=1),
        SimulatedTemperatureSampler(hardware, seed=1),
    ]


def test_they_are_collector_samplers_with_distinct_names() -> None:
    found = samplers("rpi4")
    assert all(isinstance(s, Sampler) for s in found)
    assert len({s.name for s in found}) == 4


@pytest.mark.parametrize("hardware", sorted(HARDWARE))
def test_power_is_in_the_hardware_range_and_says_simulated(hardware: str) -> None:
    power = SimulatedPowerSampler(hardware, HEALTHY, lambda: 0.0, seed=2)
    readings = [r for _ in range(300) for r in power.sample()]
    low, high = EXPECTED_WATTS[hardware]
    values = np.array([r.value for r in readings])
    assert low <= values.min() and values.max() <= high
    assert values.std() > 0
    for r in readings:
        assert r.metric == semconv.HW_POWER and r.unit == "W"
        assert r.attributes[semconv.POWER_SOURCE] == semconv.POWER_SIMULATED
        assert r.attributes[SIMULATED_ATTRIBUTE] == "true"


@pytest.mark.parametrize("hardware", sorted(HARDWARE))
def test_every_reading_is_marked_simulated(hardware: str) -> None:
    for sampler in samplers(hardware):
        for reading in sampler.sample():
            assert reading.attributes[SIMULATED_ATTRIBUTE] == "true"


def test_power_increase_scales_the_draw_only_during_the_incident() -> None:
    incident = Incident("power_increase", ("d",), 100.0, 200.0, {"factor": 1.6})
    conditions = DeviceConditions(V1, [incident])
    normal = SimulatedPowerSampler("x86-gateway", conditions, lambda: 50.0, seed=3)
    raised = SimulatedPowerSampler("x86-gateway", conditions, lambda: 150.0, seed=3)
    for _ in range(50):
        assert raised.sample()[0].value == pytest.approx(normal.sample()[0].value * 1.6)


def test_memory_grows_at_the_leak_rate() -> None:
    leak = Incident("memory_leak", ("d",), 0.0, None, {"rate_mb_per_h": 300.0})
    conditions = DeviceConditions(V1, [leak])
    at = {
        t: SimulatedMemorySampler("rpi4", conditions, lambda t=t: t, seed=4) for t in (0.0, 3600.0)
    }
    start, hour = at[0.0].sample()[0], at[3600.0].sample()[0]
    assert hour.value - start.value == pytest.approx(300 * 2**20, rel=1e-6)
    assert start.metric == semconv.PROCESS_MEMORY_USAGE and start.unit == "By"


@pytest.mark.parametrize("hardware", sorted(HARDWARE))
def test_healthy_memory_is_steady_near_the_profile(hardware: str) -> None:
    memory = SimulatedMemorySampler(hardware, HEALTHY, lambda: 0.0, seed=5)
    values = np.array([memory.sample()[0].value for _ in range(200)]) / 2**20
    assert values.mean() == pytest.approx(HARDWARE[hardware].memory_mb, rel=0.01)
    assert values.max() - values.min() < 0.1 * HARDWARE[hardware].memory_mb


@pytest.mark.parametrize("hardware", sorted(HARDWARE))
def test_temperature_is_in_the_hardware_range(hardware: str) -> None:
    sampler = SimulatedTemperatureSampler(hardware, seed=6)
    readings = [sampler.sample()[0] for _ in range(200)]
    low, high = HARDWARE[hardware].temperature_c
    assert all(low <= r.value <= high for r in readings)
    assert {r.metric for r in readings} == {semconv.HW_TEMPERATURE}
    assert {r.unit for r in readings} == {"Cel"}


@pytest.mark.parametrize("hardware", sorted(HARDWARE))
def test_cpu_is_a_utilisation_in_the_hardware_range(hardware: str) -> None:
    sampler = SimulatedCpuSampler(hardware, HEALTHY, lambda: 0.0, seed=7)
    readings = [sampler.sample()[0] for _ in range(200)]
    low, high = HARDWARE[hardware].cpu
    assert all(low <= r.value <= high for r in readings)
    assert {(r.metric, r.unit) for r in readings} == {(semconv.PROCESS_CPU_UTILIZATION, "1")}


def test_a_latency_regression_makes_the_cpu_busier_but_never_over_full() -> None:
    slower = Incident("latency_regression", ("d",), 100.0, None, {"slowdown": 4.0})
    conditions = DeviceConditions(V1, [slower])
    normal = SimulatedCpuSampler("x86-gateway", conditions, lambda: 50.0, seed=8)
    busy = SimulatedCpuSampler("x86-gateway", conditions, lambda: 150.0, seed=8)
    for _ in range(50):
        assert busy.sample()[0].value == pytest.approx(normal.sample()[0].value * 4.0)
    saturated = SimulatedCpuSampler("rpi4", conditions, lambda: 150.0, seed=8)
    assert max(saturated.sample()[0].value for _ in range(50)) < 1.0


def test_an_unknown_hardware_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hardware label 'pi5'"):
        SimulatedTemperatureSampler("pi5")
