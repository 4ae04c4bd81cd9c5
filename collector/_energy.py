"""Energy over a measured span from the best source the device has, with its error bound.

Counters beat polled power: RAPL's ``energy_uj`` and NVML's total-energy counter integrate in
hardware, so the energy between two reads is exact up to the sensor's own accuracy. Polled power
(Jetson INA3221, battery, hwmon, NVML power) is integrated by the trapezoid rule between polls
and misses whatever happens between them: at 1 Hz that can be off by tens of percent, and the
figure says so. Every source is tried and the report names the ones found missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewatch.collector import semconv
from edgewatch.collector._power import (
    BatteryPowerSampler,
    HwmonPowerSampler,
    Ina3221Sampler,
    nvml_handles,
    rapl_delta_uj,
    rapl_zones,
    read_number,
    readable,
)
from edgewatch.collector._types import Reading, Sampler, SamplerError

RAPL_RELATIVE_ERROR = 0.10
"""RAPL is a model-assisted package estimate: within about 10 % of the package's power on the
validations published for Sandy Bridge onwards (Khan et al., 2018), and it excludes the board."""
NVML_RELATIVE_ERROR = 0.05
"""NVIDIA documents board power readings accurate to within ±5 % (nvmlDeviceGetPowerUsage)."""
POLLED_RELATIVE_ERROR = 0.30
"""Polled power misses bursts between polls; 30 % is the bound stated for 1 Hz polling of a
bursty inference load, widened further when the span holds only a few polls."""
BOARD_RAILS = ("VDD_IN", "POM_5V_IN", "VIN_SYS_5V0")
"""Jetson INA3221 rails that carry the whole module's input: the other rails are parts of it."""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One energy source tried: ``used``, ``available`` (a better one won), ``missing`` or
    ``unreadable`` (present but not readable by this user, e.g. RAPL without root)."""

    source: str
    status: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EnergyFigure:
    """Energy measured over a span by one source; ``relative_error`` bounds it (0.1 = ±10 %)."""

    source: str
    method: str
    """``counter`` (hardware-integrated energy) or ``polled`` (power integrated between polls)."""
    joules: float
    seconds: float
    relative_error: float
    note: str

    @property
    def watts(self) -> float:
        return self.joules / self.seconds if self.seconds > 0 else 0.0


class _RaplCounter:
    """Top-level RAPL zones (package, psys; sub-zones are parts of them) accumulated across wraps."""

    source = semconv.POWER_RAPL

    def __init__(self, zones: Sequence[Path]) -> None:
        self._zones = list(zones)
        self._last: dict[Path, float] = {}
        self._joules = 0.0

    def read(self) -> None:
        for zone in self._zones:
            energy = read_number(zone / "energy_uj")
            last = self._last.get(zone)
            self._last[zone] = energy
            if last is None:
                continue
            self._joules += rapl_delta_uj(zone, energy, last) / 1e6

    @property
    def joules(self) -> float:
        return self._joules


class _NvmlCounter:
    """NVML's total energy since driver load (mJ), summed over GPUs (Volta and newer)."""

    source = semconv.POWER_NVML

    def __init__(self, nvml: Any, handles: Sequence[Any]) -> None:
        self._nvml = nvml
        self._handles = list(handles)
        self._first: float | None = None
        self._latest = 0.0

    def read(self) -> None:
        total = sum(float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles)
        if self._first is None:
            self._first = total
        self._latest = total

    @property
    def joules(self) -> float:
        return 0.0 if self._first is None else (self._latest - self._first) / 1e3


class _NvmlPower:
    """NVML's instantaneous board power, for GPUs without the energy counter."""

    name = source = semconv.POWER_NVML

    def __init__(self, nvml: Any, handles: Sequence[Any]) -> None:
        self._nvml = nvml
        self._handles = list(handles)

    def sample(self) -> Sequence[Reading]:
        watts = sum(float(self._nvml.nvmlDeviceGetPowerUsage(h)) / 1e3 for h in self._handles)
        return [Reading(semconv.HW_POWER, watts, {semconv.POWER_SOURCE: self.source}, "W")]


def board_watts(readings: Sequence[Reading]) -> float:
    """Total power of one source's readings, counting a Jetson's input rail alone when present."""
    whole = [r.value for r in readings if r.attributes.get(semconv.HW_ID, "") in BOARD_RAILS]
    return sum(whole) if whole else sum(r.value for r in readings)


class _Polled:
    """Trapezoid integration of a power sampler's readings between polls."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.source = str(getattr(sampler, "source", sampler.name))
        self._last: tuple[float, float] | None = None
        self._joules = 0.0
        self.polls = 0

    def poll(self, now_s: float) -> None:
        try:
            watts = board_watts(self.sampler.sample())
        except SamplerError as e:
            watts = board_watts(e.readings)
        if self._last is not None:
            self._joules += (watts + self._last[1]) / 2 * (now_s - self._last[0])
        self._last = (now_s, watts)
        self.polls += 1

    @property
    def joules(self) -> float:
        return self._joules


class EnergyMeter:
    """Discovers every energy source under ``root`` and integrates them over ``start``..``stop``.

    Call ``poll`` about once a second while the span runs (RAPL counters wrap; polled sources
    need the samples). ``stop`` lists what each working source measured, best first.
    ``samplers`` adds power samplers of one's own (a demo's simulated one), polled like hwmon;
    ``discover=False`` uses only those.
    """

    def __init__(
        self,
        root: str | Path = "/",
        nvml: Any = None,
        clock: Callable[[], float] | None = None,
        samplers: Sequence[Sampler] = (),
        discover: bool = True,
    ) -> None:
        import time

        self._clock = clock or time.monotonic
        self.tried: list[SourceStatus] = []
        self._counters: list[_RaplCounter | _NvmlCounter] = []
        self._polled: list[_Polled] = []
        self._start_s = self._stop_s = 0.0
        if discover:
            self._discover(Path(root), nvml)
        for sampler in samplers:
            polled = _Polled(sampler)
            self._polled.append(polled)
            self.tried.append(SourceStatus(polled.source, "available"))

    def _discover(self, root: Path, nvml: Any) -> None:
        zones = [z for z in rapl_zones(root) if z.name.count(":") == 1]
        allowed = [z for z in zones if readable(z / "energy_uj")]
        if allowed:
            self._counters.append(_RaplCounter(allowed))
            self.tried.append(SourceStatus(semconv.POWER_RAPL, "available"))
        elif zones:
            self.tried.append(
                SourceStatus(semconv.POWER_RAPL, "unreadable", "energy_uj is root-only here")
            )
        else:
            self.tried.append(SourceStatus(semconv.POWER_RAPL, "missing", "no powercap zones"))
        found = nvml_handles(nvml)
        if found is None or not found[1]:
            self.tried.append(SourceStatus(semconv.POWER_NVML, "missing", "no NVML or no GPU"))
        else:
            lib, handles = found
            try:
                for h in handles:
                    lib.nvmlDeviceGetTotalEnergyConsumption(h)
                self._counters.append(_NvmlCounter(lib, handles))
            except Exception:  # pre-Volta GPUs have no energy counter: poll power instead
                self._polled.append(_Polled(_NvmlPower(lib, handles)))
            self.tried.append(SourceStatus(semconv.POWER_NVML, "available"))
        for name, sampler in (
            (semconv.POWER_INA3221, Ina3221Sampler.discover(root)),
            (semconv.POWER_BATTERY, BatteryPowerSampler.discover(root)),
            (semconv.POWER_HWMON, HwmonPowerSampler.discover(root)),
        ):
            if sampler is None:
                self.tried.append(SourceStatus(name, "missing"))
            else:
                self._polled.append(_Polled(sampler))
                self.tried.append(SourceStatus(name, "available"))

    @property
    def has_source(self) -> bool:
        return bool(self._counters or self._polled)

    def start(self) -> None:
        self._start_s = self._clock()
        self.poll()

    def poll(self) -> None:
        now = self._clock()
        for counter in self._counters:
            counter.read()
        for polled in self._polled:
            polled.poll(now)

    def stop(self) -> list[EnergyFigure]:
        """End the span; the figures of every working source, best (most accurate) first."""
        self.poll()
        self._stop_s = self._clock()
        seconds = self._stop_s - self._start_s
        figures = [_counter_figure(c, seconds) for c in self._counters]
        for p in self._polled:
            bound = POLLED_RELATIVE_ERROR + 1.0 / max(p.polls - 1, 1)
            note = (
                f"power polled {p.polls} times and integrated: bursts between polls are "
                "missed, so this can be off by tens of percent"
            )
            if p.source == semconv.POWER_SIMULATED:
                note = f"simulated power, not a measurement ({note})"
            figures.append(
                EnergyFigure(p.source, "polled", p.joules, seconds, min(bound, 1.0), note)
            )
        figures.sort(key=lambda f: f.relative_error)
        used = figures[0].source if figures else None
        self.tried = [
            SourceStatus(t.source, "used", t.detail) if t.source == used else t for t in self.tried
        ]
        return figures


def _counter_figure(counter: _RaplCounter | _NvmlCounter, seconds: float) -> EnergyFigure:
    if isinstance(counter, _RaplCounter):
        return EnergyFigure(
            counter.source,
            "counter",
            counter.joules,
            seconds,
            RAPL_RELATIVE_ERROR,
            "RAPL energy counter of the CPU package(s): excludes the rest of the board",
        )
    return EnergyFigure(
        counter.source,
        "counter",
        counter.joules,
        seconds,
        NVML_RELATIVE_ERROR,
        "NVML total-energy counter of the GPU board(s)",
    )
