"""Power samplers: every source the device has, each reading tagged with where it came from.

Sysfs layouts (Linux ABI documentation):

- Intel RAPL (powercap): ``/sys/class/powercap/intel-rapl:<n>[:<m>]/{name,energy_uj,max_energy_range_uj}``;
  power is the energy delta over time, with counter wrap-around at ``max_energy_range_uj``.
- Jetson INA3221, L4T's iio driver: ``/sys/bus/i2c/drivers/ina3221x/<bus-addr>/iio:device<k>/
  {rail_name_<i>,in_power<i>_input}`` (mW); mainline hwmon driver: ``/sys/class/hwmon/hwmon<k>/``
  with ``name`` = ``ina3221``, ``in<i>_label``, ``in<i>_input`` (bus mV), ``curr<i>_input`` (mA).
- Batteries: ``/sys/class/power_supply/<name>/`` with ``type`` = ``Battery`` and ``power_now`` (µW),
  or ``voltage_now`` (µV) × ``current_now`` (µA).
- Generic hwmon: ``/sys/class/hwmon/hwmon<k>/power<i>_input`` (µW).
- NVIDIA NVML through the optional ``pynvml`` module (``nvidia-ml-py``): milliwatts per GPU.

A sampler whose files vanish or hold garbage raises ``SamplerError`` with the readings that did
work; the Monitor counts the errors. A source that exists but has nothing to report yet (RAPL's
first sample only sets the baseline) returns no reading — never a fake 0 W.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edgewatch.collector import semconv
from edgewatch.collector._types import Reading, Sampler, SamplerError


def read_number(path: Path) -> float:
    """A sysfs file holding one number; ``OSError``/``ValueError`` when missing or garbage."""
    return float(int(path.read_text().strip()))


def _read_text(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def readable(path: Path) -> bool:
    """Whether this user may read ``path`` (RAPL's ``energy_uj`` is often root-only)."""
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


def rapl_zones(root: str | Path = "/") -> list[Path]:
    """RAPL power zones with an energy counter (readable or not: many kernels allow root only)."""
    zones = sorted(Path(root, "sys/class/powercap").glob("intel-rapl:*"))
    return [z for z in zones if (z / "energy_uj").exists()]


def rapl_delta_uj(zone: Path, energy_uj: float, previous_uj: float) -> float:
    """Microjoules a RAPL zone counted since ``previous_uj``, across a wrap at its maximum.

    ``OSError``/``ValueError`` when the wrap needs ``max_energy_range_uj`` and it is unreadable.
    """
    delta = energy_uj - previous_uj
    if delta < 0:  # the counter wrapped around
        delta += read_number(zone / "max_energy_range_uj")
    return delta


def nvml_handles(nvml: Any = None) -> tuple[Any, list[Any]] | None:
    """The NVML module (``pynvml`` unless given) initialised, with a handle per GPU; None
    without the module or a driver."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return None
    try:
        nvml.nvmlInit()
        return nvml, [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    except Exception:  # no driver, no GPU: NVML raises its own NVMLError types
        return None


def _index(name: str, pattern: str) -> int:
    m = re.fullmatch(pattern, name)
    return int(m.group(1)) if m else -1


def _power(watts: float, source: str, hw_id: str, name: str = "", state: str = "") -> Reading:
    attributes = {semconv.POWER_SOURCE: source, semconv.HW_ID: hw_id}
    if name:
        attributes[semconv.HW_NAME] = name
    if state:
        attributes[semconv.HW_BATTERY_STATE] = state
    return Reading(semconv.HW_POWER, watts, attributes, "W")


def _finish(name: str, readings: list[Reading], errors: list[str]) -> list[Reading]:
    if errors:
        raise SamplerError(readings, [f"{name}: {e}" for e in errors])
    return readings


class RaplSampler:
    """Intel/AMD RAPL energy counters → average watts since the previous sample, per zone."""

    name = semconv.POWER_RAPL
    source = semconv.POWER_RAPL

    def __init__(self, zones: Sequence[Path], clock: Callable[[], float] = time.monotonic) -> None:
        self.zones = list(zones)
        self._clock = clock
        self._previous: dict[Path, tuple[float, float]] = {}

    @classmethod
    def discover(
        cls, root: str | Path = "/", clock: Callable[[], float] = time.monotonic
    ) -> RaplSampler | None:
        zones = [z for z in rapl_zones(root) if readable(z / "energy_uj")]
        return cls(zones, clock) if zones else None

    def sample(self) -> Sequence[Reading]:
        readings: list[Reading] = []
        errors: list[str] = []
        now = self._clock()
        for zone in self.zones:
            try:
                energy = read_number(zone / "energy_uj")
            except (OSError, ValueError) as e:
                errors.append(f"{zone.name}/energy_uj: {e}")
                self._previous.pop(zone, None)
                continue
            previous = self._previous.get(zone)
            self._previous[zone] = (energy, now)
            if previous is None or now <= previous[1]:
                continue
            try:
                delta = rapl_delta_uj(zone, energy, previous[0])
            except (OSError, ValueError) as e:
                errors.append(f"{zone.name}/max_energy_range_uj: {e}")
                continue
            watts = delta / 1e6 / (now - previous[1])
            readings.append(_power(watts, self.source, zone.name, _read_text(zone / "name")))
        return _finish(self.name, readings, errors)


class Ina3221Sampler:
    """Jetson INA3221 rails, from the L4T iio driver or the mainline hwmon driver."""

    name = semconv.POWER_INA3221
    source = semconv.POWER_INA3221

    def __init__(
        self, iio_channels: Sequence[tuple[Path, int]], hwmon_channels: Sequence[tuple[Path, int]]
    ) -> None:
        self.iio_channels = list(iio_channels)
        self.hwmon_channels = list(hwmon_channels)

    @classmethod
    def discover(cls, root: str | Path = "/") -> Ina3221Sampler | None:
        iio = []
        base = Path(root, "sys/bus/i2c/drivers/ina3221x")
        for f in sorted(base.glob("*/iio:device*/in_power*_input")):
            iio.append((f.parent, _index(f.name, r"in_power(\d+)_input")))
        hwmon = []
        for d in sorted(Path(root, "sys/class/hwmon").glob("hwmon*")):
            if _read_text(d / "name") != "ina3221":
                continue
            for f in sorted(d.glob("curr*_input")):
                i = _index(f.name, r"curr(\d+)_input")
                if (d / f"in{i}_input").exists() and _read_text(d / f"in{i}_enable", "1") != "0":
                    hwmon.append((d, i))
        return cls(iio, hwmon) if iio or hwmon else None

    def sample(self) -> Sequence[Reading]:
        readings: list[Reading] = []
        errors: list[str] = []
        for d, i in self.iio_channels:
            rail = _read_text(d / f"rail_name_{i}") or f"{d.parent.name}/{i}"
            try:
                watts = read_number(d / f"in_power{i}_input") / 1e3
            except (OSError, ValueError) as e:
                errors.append(f"{d.name}/in_power{i}_input: {e}")
                continue
            readings.append(_power(watts, self.source, rail, rail))
        for d, i in self.hwmon_channels:
            rail = _read_text(d / f"in{i}_label") or f"{d.name}/{i}"
            try:
                watts = read_number(d / f"in{i}_input") * read_number(d / f"curr{i}_input") / 1e6
            except (OSError, ValueError) as e:
                errors.append(f"{d.name}/in{i}: {e}")
                continue
            readings.append(_power(watts, self.source, rail, rail))
        return _finish(self.name, readings, errors)


class BatteryPowerSampler:
    """Power flowing through each battery: ``power_now`` or ``voltage_now`` × ``current_now``."""

    name = semconv.POWER_BATTERY
    source = semconv.POWER_BATTERY

    def __init__(self, supplies: Sequence[Path]) -> None:
        self.supplies = list(supplies)

    @classmethod
    def discover(cls, root: str | Path = "/") -> BatteryPowerSampler | None:
        supplies = [
            d
            for d in sorted(Path(root, "sys/class/power_supply").glob("*"))
            if _read_text(d / "type") == "Battery"
            and ((d / "power_now").exists() or (d / "current_now").exists())
        ]
        return cls(supplies) if supplies else None

    def sample(self) -> Sequence[Reading]:
        readings: list[Reading] = []
        errors: list[str] = []
        for d in self.supplies:
            try:
                if (d / "power_now").exists():
                    watts = read_number(d / "power_now") / 1e6
                else:
                    watts = read_number(d / "voltage_now") * read_number(d / "current_now") / 1e12
            except (OSError, ValueError) as e:
                errors.append(f"{d.name}: {e}")
                continue
            state = _read_text(d / "status").lower()
            readings.append(_power(abs(watts), self.source, d.name, state=state))
        return _finish(self.name, readings, errors)


class HwmonPowerSampler:
    """Generic hwmon power sensors (``power<i>_input``, µW), e.g. AMD GPUs and server PSUs."""

    name = semconv.POWER_HWMON
    source = semconv.POWER_HWMON

    def __init__(self, sensors: Sequence[Path]) -> None:
        self.sensors = list(sensors)

    @classmethod
    def discover(cls, root: str | Path = "/") -> HwmonPowerSampler | None:
        sensors = sorted(Path(root, "sys/class/hwmon").glob("hwmon*/power*_input"))
        return cls(sensors) if sensors else None

    def sample(self) -> Sequence[Reading]:
        readings: list[Reading] = []
        errors: list[str] = []
        for f in self.sensors:
            d = f.parent
            stem = f.name.removesuffix("_input")
            label = _read_text(d / f"{stem}_label") or stem
            try:
                watts = read_number(f) / 1e6
            except (OSError, ValueError) as e:
                errors.append(f"{d.name}/{f.name}: {e}")
                continue
            chip = _read_text(d / "name") or d.name
            readings.append(_power(watts, self.source, f"{d.name}/{stem}", f"{chip} {label}"))
        return _finish(self.name, readings, errors)


class NvmlSampler:
    """NVIDIA GPU board power through NVML (``pip install nvidia-ml-py``)."""

    name = semconv.POWER_NVML
    source = semconv.POWER_NVML

    def __init__(self, nvml: Any, handles: Sequence[Any]) -> None:
        self._nvml = nvml
        self._handles = list(handles)

    @classmethod
    def discover(cls, nvml: Any = None) -> NvmlSampler | None:
        found = nvml_handles(nvml)
        return cls(*found) if found is not None and found[1] else None

    def sample(self) -> Sequence[Reading]:
        readings: list[Reading] = []
        errors: list[str] = []
        for i, handle in enumerate(self._handles):
            try:
                watts = float(self._nvml.nvmlDeviceGetPowerUsage(handle)) / 1e3
            except Exception as e:
                errors.append(f"gpu{i}: {e!r}")
                continue
            readings.append(_power(watts, self.source, f"gpu{i}"))
        return _finish(self.name, readings, errors)


def detect_power_samplers(
    root: str | Path = "/", clock: Callable[[], float] = time.monotonic, nvml: Any = None
) -> list[Sampler]:
    """One sampler per power source present under ``root`` (empty when the device has none)."""
    found: list[Sampler | None] = [
        RaplSampler.discover(root, clock),
        NvmlSampler.discover(nvml),
        Ina3221Sampler.discover(root),
        BatteryPowerSampler.discover(root),
        HwmonPowerSampler.discover(root),
    ]
    return [s for s in found if s is not None]


def power_sources(samplers: Sequence[Sampler]) -> str:
    """The ``edgewatch.power.sources`` resource value: comma-separated sources, or ``none``.

    A sampler is a power source when it has a ``source`` attribute (every sampler here does;
    a custom one, e.g. a simulated source in a demo, sets ``source = "simulated"``).
    """
    names = [str(src) for s in samplers if (src := getattr(s, "source", None))]
    return ",".join(dict.fromkeys(names)) or semconv.POWER_NONE
