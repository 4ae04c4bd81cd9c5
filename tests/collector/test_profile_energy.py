"""Energy over a span from fake sysfs trees shaped like the kernel's, and the thermal watch."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from collector_sysfs import jetson_iio, rapl_zone, write

from edgewatch.collector._energy import (
    NVML_RELATIVE_ERROR,
    POLLED_RELATIVE_ERROR,
    RAPL_RELATIVE_ERROR,
    EnergyMeter,
)
from edgewatch.collector._thermal import ThermalWatch, jetson_power_mode


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_nvml(counter: bool = True) -> SimpleNamespace:
    """pynvml's surface: one GPU at 40 W whose energy counter advances by 2 J per read."""
    state = {"mj": 1_000_000.0}

    def energy(handle: int) -> float:
        if not counter:
            raise RuntimeError("NVMLError_NotSupported")
        state["mj"] += 2000.0
        return state["mj"]

    return SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetPowerUsage=lambda handle: 40_000.0,
    )


def _fail() -> None:
    raise RuntimeError("NVMLError_LibraryNotFound")


NO_NVML = SimpleNamespace(nvmlInit=_fail)


def test_no_source_names_every_source_tried_and_missing(tmp_path: Path) -> None:
    meter = EnergyMeter(tmp_path, nvml=NO_NVML)
    assert not meter.has_source
    meter.start()
    assert meter.stop() == []
    assert {t.source: t.status for t in meter.tried} == {
        "rapl": "missing",
        "nvml": "missing",
        "ina3221": "missing",
        "battery": "missing",
        "hwmon": "missing",
    }


def test_rapl_counter_integrates_top_level_zones_across_a_wrap(tmp_path: Path) -> None:
    clock = Clock()
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, max_uj=10_000_000)
    core = rapl_zone(tmp_path, "intel-rapl:0:0", "core", 500_000)
    meter = EnergyMeter(tmp_path, nvml=NO_NVML, clock=clock)
    meter.start()
    clock.now += 1
    pkg.write_text("9000000\n")  # +8 J
    core.write_text("900000\n")  # a part of the package: not counted again
    meter.poll()
    clock.now += 1
    pkg.write_text("2000000\n")  # wrapped: +1 J to the range end, +2 J after it
    figures = meter.stop()
    assert figures[0].source == "rapl"
    assert figures[0].method == "counter"
    assert figures[0].joules == pytest.approx(11.0)
    assert figures[0].seconds == pytest.approx(2.0)
    assert figures[0].relative_error == RAPL_RELATIVE_ERROR
    assert {t.source: t.status for t in meter.tried}["rapl"] == "used"


def test_nvml_energy_counter_beats_polled_jetson_rails(tmp_path: Path) -> None:
    clock = Clock()
    jetson_iio(tmp_path, {"VDD_IN": 5000, "VDD_CPU_GPU_CV": 2000, "VDD_SOC": 1000})
    meter = EnergyMeter(tmp_path, nvml=fake_nvml(), clock=clock)
    meter.start()
    for _ in range(10):
        clock.now += 1
        meter.poll()
    figures = meter.stop()
    assert [f.source for f in figures] == ["nvml", "ina3221"]
    assert figures[0].joules == pytest.approx(22.0)  # 11 further reads × 2 J
    assert figures[0].relative_error == NVML_RELATIVE_ERROR
    polled = figures[1]
    assert polled.method == "polled"
    assert polled.joules == pytest.approx(50.0)  # VDD_IN alone: 5 W × 10 s
    assert polled.relative_error > POLLED_RELATIVE_ERROR
    assert "tens of percent" in polled.note


def test_gpu_without_energy_counter_is_polled(tmp_path: Path) -> None:
    clock = Clock()
    meter = EnergyMeter(tmp_path, nvml=fake_nvml(counter=False), clock=clock)
    meter.start()
    clock.now += 2
    figures = meter.stop()
    assert figures[0].method == "polled"
    assert figures[0].joules == pytest.approx(80.0)


def test_thermal_watch_reads_throttle_counters_clocks_and_nvpmodel(tmp_path: Path) -> None:
    cpu = "sys/devices/system/cpu/cpu0"
    count = write(tmp_path, f"{cpu}/thermal_throttle/core_throttle_count", 3)
    write(tmp_path, f"{cpu}/cpufreq/cpuinfo_max_freq", 2_000_000)
    freq = write(tmp_path, f"{cpu}/cpufreq/scaling_cur_freq", 2_000_000)
    write(tmp_path, "var/lib/nvpmodel/status", "pmode:0001 fmode:quiet")
    write(
        tmp_path,
        "etc/nvpmodel.conf",
        "< POWER_MODEL ID=0 NAME=MAXN >\n< POWER_MODEL ID=1 NAME=5W >",
    )
    temps = iter([[50.0], [71.5, 60.0], [65.0]])
    watch = ThermalWatch(tmp_path, temperatures=lambda: next(temps))
    watch.poll()
    count.write_text("7\n")
    freq.write_text("1500000\n")
    watch.poll()
    summary = watch.summary()
    assert summary.max_temperature_c == 71.5
    assert summary.throttle_events == 4
    assert summary.min_frequency_ratio == pytest.approx(0.75)
    assert summary.power_mode == "5W"
    assert summary.rpi_throttled is None


def test_raspberry_pi_firmware_throttle_flag(tmp_path: Path) -> None:
    flag = write(tmp_path, "sys/devices/platform/soc/soc:firmware/get_throttled", "0x0")
    watch = ThermalWatch(tmp_path, temperatures=list)
    watch.poll()
    flag.write_text("0x50004\n")
    assert watch.summary().rpi_throttled is True
    assert jetson_power_mode(tmp_path) is None
