"""Temperature, throttling and power mode while a profile runs.

Sources (Linux ABI and vendor docs):

- x86 thermal throttling: ``/sys/devices/system/cpu/cpu<n>/thermal_throttle/core_throttle_count``.
- Raspberry Pi firmware: ``/sys/devices/platform/soc/soc:firmware/get_throttled`` (bit 2 =
  throttled now, bit 18 = throttled since boot).
- CPU frequency: ``/sys/devices/system/cpu/cpu<n>/cpufreq/{scaling_cur_freq,cpuinfo_max_freq}``;
  a clock held under its maximum during the soak is throttling by another name.
- Jetson power mode: ``/var/lib/nvpmodel/status`` (``pmode:0002``) named by ``/etc/nvpmodel.conf``
  (``< POWER_MODEL ID=2 NAME=5W >``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RPI_THROTTLED_NOW = 1 << 2
RPI_THROTTLED_SINCE_BOOT = 1 << 18


@dataclass(frozen=True, slots=True)
class ThermalSummary:
    """What the device's temperature and clocks did during the session."""

    max_temperature_c: float | None
    throttle_events: int | None
    """x86 core throttle events during the session (None where the counters do not exist)."""
    rpi_throttled: bool | None
    """The Raspberry Pi firmware reported throttling during the session (None: not a Pi)."""
    min_frequency_ratio: float | None
    """Lowest observed mean CPU clock / maximum clock (1.0 = never slowed)."""
    power_mode: str | None
    """Jetson nvpmodel mode, e.g. ``MAXN`` or ``5W`` (None where the platform has none)."""


def _int(path: Path, base: int = 10) -> int | None:
    try:
        return int(path.read_text().strip(), base)
    except (OSError, ValueError):
        return None


def jetson_power_mode(root: str | Path = "/") -> str | None:
    """The Jetson nvpmodel mode by name (or id when the config does not name it)."""
    try:
        status = Path(root, "var/lib/nvpmodel/status").read_text()
    except OSError:
        return None
    m = re.search(r"pmode:(\d+)", status)
    if not m:
        return None
    mode_id = int(m.group(1))
    try:
        conf = Path(root, "etc/nvpmodel.conf").read_text()
    except OSError:
        return str(mode_id)
    for mid, name in re.findall(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+?)\s*>", conf):
        if int(mid) == mode_id:
            return name
    return str(mode_id)


class ThermalWatch:
    """Polls temperatures, throttle counters and clocks under ``root``; ``summary`` at the end.

    ``temperatures`` returns the current readings in °C (the collector's psutil-based sampler
    by default), so tests pass a fake.
    """

    def __init__(
        self, root: str | Path = "/", temperatures: Callable[[], list[float]] | None = None
    ) -> None:
        self._root = Path(root)
        self._temperatures = temperatures or _psutil_temperatures
        cpus = sorted(self._root.glob("sys/devices/system/cpu/cpu[0-9]*"))
        self._throttle = [c / "thermal_throttle/core_throttle_count" for c in cpus]
        self._throttle = [p for p in self._throttle if p.exists()]
        self._freq = [
            (c / "cpufreq/scaling_cur_freq", _int(c / "cpufreq/cpuinfo_max_freq")) for c in cpus
        ]
        self._rpi = self._root / "sys/devices/platform/soc/soc:firmware/get_throttled"
        self._throttle_start = self._throttle_total()
        self._max_temp: float | None = None
        self._min_ratio: float | None = None
        self._rpi_throttled: bool | None = None

    def _throttle_total(self) -> int | None:
        counts = [_int(p) for p in self._throttle]
        known = [c for c in counts if c is not None]
        return sum(known) if known else None

    def poll(self) -> None:
        temps = self._temperatures()
        if temps:
            self._max_temp = max([*temps, self._max_temp or -273.15])
        ratios = [
            cur / top
            for path, top in self._freq
            if top and (cur := _int(path)) is not None and cur > 0
        ]
        if ratios:
            ratio = sum(ratios) / len(ratios)
            self._min_ratio = ratio if self._min_ratio is None else min(self._min_ratio, ratio)
        flags = _int(self._rpi, 16)
        if flags is not None:
            self._rpi_throttled = bool(self._rpi_throttled) or bool(flags & RPI_THROTTLED_NOW)

    def summary(self) -> ThermalSummary:
        self.poll()
        end = self._throttle_total()
        events = None
        if end is not None and self._throttle_start is not None:
            events = end - self._throttle_start
        return ThermalSummary(
            self._max_temp,
            events,
            self._rpi_throttled,
            None if self._min_ratio is None else min(self._min_ratio, 1.0),
            jetson_power_mode(self._root),
        )


def _psutil_temperatures() -> list[float]:
    from edgewatch.collector._system import TemperatureSampler

    if not TemperatureSampler.available():
        return []
    try:
        return [r.value for r in TemperatureSampler().sample()]
    except OSError:
        return []
