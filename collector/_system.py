"""Device samplers backed by psutil: memory, CPU utilisation, temperatures, battery charge.

Each takes its psutil module/process as a parameter so tests can hand in a fake one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psutil

from edgewatch.collector import semconv
from edgewatch.collector._types import Reading


class ProcessSampler:
    """RSS and CPU utilisation (0..1 of all cores) of the process the Monitor runs in."""

    name = "process"

    def __init__(self, process: Any = None, cpu_count: int | None = None) -> None:
        self._process = process if process is not None else psutil.Process()
        self._cpus = cpu_count or psutil.cpu_count() or 1
        self._process.cpu_percent(None)  # the first call only sets the reference point

    def sample(self) -> Sequence[Reading]:
        rss = float(self._process.memory_info().rss)
        cpu = float(self._process.cpu_percent(None)) / 100.0 / self._cpus
        return [
            Reading(semconv.PROCESS_MEMORY_USAGE, rss, {}, "By"),
            Reading(semconv.PROCESS_CPU_UTILIZATION, cpu, {}, "1"),
        ]


class SystemSampler:
    """System memory in use (bytes and ratio) and system CPU utilisation (0..1)."""

    name = "system"

    def __init__(self, ps: Any = psutil) -> None:
        self._ps = ps
        self._ps.cpu_percent(None)

    def sample(self) -> Sequence[Reading]:
        vm = self._ps.virtual_memory()
        used = float(vm.total - vm.available)
        return [
            Reading(semconv.SYSTEM_MEMORY_USAGE, used, {"system.memory.state": "used"}, "By"),
            Reading(semconv.SYSTEM_MEMORY_UTILIZATION, used / float(vm.total), {}, "1"),
            Reading(
                semconv.SYSTEM_CPU_UTILIZATION, float(self._ps.cpu_percent(None)) / 100.0, {}, "1"
            ),
        ]


class TemperatureSampler:
    """Every temperature sensor psutil sees, as ``hw.temperature`` in °C with ``hw.id``."""

    name = "temperature"

    def __init__(self, ps: Any = psutil) -> None:
        self._ps = ps

    @staticmethod
    def available(ps: Any = psutil) -> bool:
        return hasattr(ps, "sensors_temperatures")

    def sample(self) -> Sequence[Reading]:
        readings = []
        for chip, entries in self._ps.sensors_temperatures().items():
            for i, entry in enumerate(entries):
                sensor = f"{chip}/{entry.label or i}"
                readings.append(
                    Reading(
                        semconv.HW_TEMPERATURE, float(entry.current), {semconv.HW_ID: sensor}, "Cel"
                    )
                )
        return readings


class BatteryChargeSampler:
    """Battery charge as a ratio 0..1 (no reading on a device without a battery)."""

    name = "battery_charge"

    def __init__(self, ps: Any = psutil) -> None:
        self._ps = ps

    @staticmethod
    def available(ps: Any = psutil) -> bool:
        return hasattr(ps, "sensors_battery") and ps.sensors_battery() is not None

    def sample(self) -> Sequence[Reading]:
        battery = self._ps.sensors_battery()
        if battery is None:
            return []
        return [Reading(semconv.HW_BATTERY_CHARGE, float(battery.percent) / 100.0, {}, "1")]
