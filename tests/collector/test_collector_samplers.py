"""Samplers on fake sysfs trees and a fake psutil: right units, wrap-around, and broken files
counted as errors (``SamplerError`` with the readings that still worked), never a fake 0 W."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from collector_sysfs import ina3221_hwmon, jetson_iio, rapl_zone, write

from edgewatch.collector import (
    BatteryChargeSampler,
    BatteryPowerSampler,
    HwmonPowerSampler,
    Ina3221Sampler,
    NvmlSampler,
    ProcessSampler,
    RaplSampler,
    SamplerError,
    SystemSampler,
    TemperatureSampler,
    detect_power_samplers,
    semconv,
)
from edgewatch.collector._power import power_sources
from edgewatch.collector.power import main as power_main


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _watts(readings: object) -> dict[str, float]:
    return {r.attributes[semconv.HW_ID]: round(r.value, 6) for r in readings}  # type: ignore[attr-defined]


def test_rapl_deltas_to_watts_with_wrap_around(tmp_path: Path) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, max_uj=10_000_000)
    core = rapl_zone(tmp_path, "intel-rapl:0:0", "core", 500_000)
    write(tmp_path, "sys/class/powercap/intel-rapl/enabled", 1)  # the control type: no counter
    clock = FakeClock()
    sampler = RaplSampler.discover(tmp_path, clock)
    assert sampler is not None and [z.name for z in sampler.zones] == [
        "intel-rapl:0",
        "intel-rapl:0:0",
    ]
    assert sampler.sample() == []  # the first sample only sets the baseline: no fake 0 W
    clock.t += 2.0
    pkg.write_text("9000000\n")  # +8 J over 2 s
    core.write_text("2500000\n")  # +2 J
    readings = sampler.sample()
    assert _watts(readings) == {"intel-rapl:0": 4.0, "intel-rapl:0:0": 1.0}
    assert readings[0].attributes[semconv.HW_NAME] == "package-0"
    assert readings[0].attributes[semconv.POWER_SOURCE] == "rapl" and readings[0].unit == "W"
    clock.t += 1.0
    pkg.write_text("1000000\n")  # wrapped at 10 J: 9 → 10 → 1 is +2 J
    core.write_text("3500000\n")
    assert _watts(sampler.sample()) == {"intel-rapl:0": 2.0, "intel-rapl:0:0": 1.0}


def test_rapl_garbage_and_missing_counter_are_counted_errors(tmp_path: Path) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    dram = rapl_zone(tmp_path, "intel-rapl:0:1", "dram", 0)
    clock = FakeClock()
    sampler = RaplSampler.discover(tmp_path, clock)
    assert sampler is not None
    sampler.sample()
    clock.t += 1.0
    pkg.write_text("garbage\n")
    dram.write_text("1000000\n")
    with pytest.raises(SamplerError) as err:
        sampler.sample()
    assert _watts(err.value.readings) == {"intel-rapl:0:1": 1.0}
    assert len(err.value.errors) == 1 and "energy_uj" in err.value.errors[0]
    dram.unlink()
    with pytest.raises(SamplerError):
        sampler.sample()


def test_jetson_ina3221_iio_form(tmp_path: Path) -> None:
    jetson_iio(tmp_path, {"POM_5V_IN": 4200, "POM_5V_GPU": 850, "POM_5V_CPU": 1100})
    sampler = Ina3221Sampler.discover(tmp_path)
    assert sampler is not None
    assert _watts(sampler.sample()) == {"POM_5V_IN": 4.2, "POM_5V_GPU": 0.85, "POM_5V_CPU": 1.1}


def test_jetson_ina3221_hwmon_form_skips_disabled_channels(tmp_path: Path) -> None:
    ina3221_hwmon(
        tmp_path,
        "hwmon1",
        {"VDD_IN": (5000, 1200), "VDD_CPU_GPU_CV": (5000, 400), "VDD_SOC": (5000, 300)},
    )
    write(tmp_path, "sys/class/hwmon/hwmon1/in3_enable", 0)
    write(tmp_path, "sys/class/hwmon/hwmon0/name", "acpitz")  # another chip: ignored
    write(tmp_path, "sys/class/hwmon/hwmon0/temp1_input", 45000)
    sampler = Ina3221Sampler.discover(tmp_path)
    assert sampler is not None
    assert _watts(sampler.sample()) == {"VDD_IN": 6.0, "VDD_CPU_GPU_CV": 2.0}
    write(tmp_path, "sys/class/hwmon/hwmon1/curr2_input", "")
    with pytest.raises(SamplerError) as err:
        sampler.sample()
    assert _watts(err.value.readings) == {"VDD_IN": 6.0}


def test_battery_power_now_and_voltage_times_current(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/power_supply/BAT0/type", "Battery")
    write(tmp_path, "sys/class/power_supply/BAT0/status", "Discharging")
    write(tmp_path, "sys/class/power_supply/BAT0/power_now", 7_500_000)  # µW
    write(tmp_path, "sys/class/power_supply/BAT1/type", "Battery")
    write(tmp_path, "sys/class/power_supply/BAT1/status", "Charging")
    write(tmp_path, "sys/class/power_supply/BAT1/voltage_now", 12_000_000)  # µV
    write(tmp_path, "sys/class/power_supply/BAT1/current_now", 500_000)  # µA
    write(tmp_path, "sys/class/power_supply/AC/type", "Mains")
    write(tmp_path, "sys/class/power_supply/AC/online", 1)
    sampler = BatteryPowerSampler.discover(tmp_path)
    assert sampler is not None
    readings = sampler.sample()
    assert _watts(readings) == {"BAT0": 7.5, "BAT1": 6.0}
    assert [r.attributes[semconv.HW_BATTERY_STATE] for r in readings] == ["discharging", "charging"]
    write(tmp_path, "sys/class/power_supply/BAT1/current_now", "n/a")
    with pytest.raises(SamplerError) as err:
        sampler.sample()
    assert _watts(err.value.readings) == {"BAT0": 7.5}


def test_generic_hwmon_power_in_microwatts(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/hwmon/hwmon3/name", "amdgpu")
    write(tmp_path, "sys/class/hwmon/hwmon3/power1_input", 15_250_000)
    write(tmp_path, "sys/class/hwmon/hwmon3/power1_label", "PPT")
    sampler = HwmonPowerSampler.discover(tmp_path)
    assert sampler is not None
    readings = sampler.sample()
    assert _watts(readings) == {"hwmon3/power1": 15.25}
    assert readings[0].attributes[semconv.HW_NAME] == "amdgpu PPT"


def test_nvml_through_a_stand_in_module() -> None:
    """``pynvml`` (nvidia-ml-py) is not installed here; NVML's call shape is exercised instead."""
    calls = {"power": [42_000, 61_500]}
    nvml = SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: f"h{i}",
        nvmlDeviceGetPowerUsage=lambda h: calls["power"][int(h[1])],
    )
    sampler = NvmlSampler.discover(nvml)
    assert sampler is not None
    assert _watts(sampler.sample()) == {"gpu0": 42.0, "gpu1": 61.5}


def test_nvml_absent_or_failing_means_no_source() -> None:
    def fail() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    assert NvmlSampler.discover(SimpleNamespace(nvmlInit=fail)) is None


def test_real_nvml_when_installed() -> None:
    pytest.importorskip("pynvml", reason="nvidia-ml-py is optional and not installed here")
    sampler = NvmlSampler.discover()
    if sampler is None:
        pytest.skip("pynvml is installed but no NVIDIA GPU or driver is present")
    assert all(r.value >= 0 for r in sampler.sample())


def test_detection_on_an_empty_tree_finds_no_source(tmp_path: Path) -> None:
    samplers = detect_power_samplers(tmp_path, nvml=SimpleNamespace())
    assert samplers == []
    assert power_sources(samplers) == "none"


def test_detection_lists_every_source(tmp_path: Path) -> None:
    rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1)
    jetson_iio(tmp_path, {"VDD_IN": 1000})
    write(tmp_path, "sys/class/power_supply/BAT0/type", "Battery")
    write(tmp_path, "sys/class/power_supply/BAT0/power_now", 1)
    samplers = detect_power_samplers(tmp_path, nvml=SimpleNamespace())
    assert power_sources(samplers) == "rapl,ina3221,battery"


def test_power_diagnostic_prints_sources_and_watts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jetson_iio(tmp_path, {"VDD_IN": 3300})
    assert power_main(["--root", str(tmp_path), "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "edgewatch.power.sources=ina3221" in out
    assert "VDD_IN" in out and "3.300 W" in out
    assert power_main(["--root", str(tmp_path / "nothing"), "--seconds", "0"]) == 0
    assert "no power source found" in capsys.readouterr().out


def test_psutil_samplers_with_a_fake_psutil() -> None:
    process = SimpleNamespace(
        cpu_percent=lambda interval: 50.0, memory_info=lambda: SimpleNamespace(rss=40 * 2**20)
    )
    readings = {r.metric: r.value for r in ProcessSampler(process, cpu_count=2).sample()}
    assert readings == {
        semconv.PROCESS_MEMORY_USAGE: 40 * 2**20,
        semconv.PROCESS_CPU_UTILIZATION: 0.25,
    }
    ps = SimpleNamespace(
        cpu_percent=lambda interval: 30.0,
        virtual_memory=lambda: SimpleNamespace(total=1000, available=250),
        sensors_temperatures=lambda: {
            "coretemp": [SimpleNamespace(label="Package id 0", current=55.0)],
            "thermal_zone": [SimpleNamespace(label="", current=41.5)],
        },
        sensors_battery=lambda: SimpleNamespace(percent=80.0),
    )
    system = {r.metric: r.value for r in SystemSampler(ps).sample()}
    assert system == {
        semconv.SYSTEM_MEMORY_USAGE: 750.0,
        semconv.SYSTEM_MEMORY_UTILIZATION: 0.75,
        semconv.SYSTEM_CPU_UTILIZATION: 0.3,
    }
    temps = TemperatureSampler(ps).sample()
    assert {r.attributes[semconv.HW_ID]: r.value for r in temps} == {
        "coretemp/Package id 0": 55.0,
        "thermal_zone/0": 41.5,
    }
    assert [r.value for r in BatteryChargeSampler(ps).sample()] == [0.8]
    assert BatteryChargeSampler(SimpleNamespace(sensors_battery=lambda: None)).sample() == []


def test_real_psutil_samplers_read_this_machine() -> None:
    readings = {r.metric: r.value for r in [*ProcessSampler().sample(), *SystemSampler().sample()]}
    assert readings[semconv.PROCESS_MEMORY_USAGE] > 1e6
    assert 0.0 < readings[semconv.SYSTEM_MEMORY_UTILIZATION] < 1.0


def test_unreadable_rapl_counter_is_not_a_source_and_the_diagnostic_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = tmp_path / "sys/class/powercap/intel-rapl:0"
    (zone / "energy_uj").mkdir(parents=True)  # reading fails like a root-only counter does
    write(tmp_path, "sys/class/powercap/intel-rapl:0/name", "package-0")
    assert RaplSampler.discover(tmp_path) is None
    assert power_main(["--root", str(tmp_path), "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "edgewatch.power.sources=none" in out and "not readable" in out
