"""Builders of fake sysfs trees shaped exactly like the kernel's (see collector/_power.py)."""

from __future__ import annotations

from pathlib import Path


def write(root: Path, rel: str, value: object) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n")
    return path


def rapl_zone(root: Path, zone: str, name: str, energy_uj: int, max_uj: int = 262143328850) -> Path:
    d = f"sys/class/powercap/{zone}"
    write(root, f"{d}/name", name)
    write(root, f"{d}/max_energy_range_uj", max_uj)
    write(root, f"{d}/enabled", 1)
    return write(root, f"{d}/energy_uj", energy_uj)


def jetson_iio(root: Path, rails: dict[str, int]) -> None:
    """L4T's ina3221x iio driver: power in mW, one rail name per channel."""
    d = "sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0"
    for i, (rail, mw) in enumerate(rails.items()):
        write(root, f"{d}/rail_name_{i}", rail)
        write(root, f"{d}/in_power{i}_input", mw)
        write(root, f"{d}/in_current{i}_input", mw)
        write(root, f"{d}/in_voltage{i}_input", 5000)


def ina3221_hwmon(root: Path, hwmon: str, rails: dict[str, tuple[int, int]]) -> None:
    """Mainline ina3221 hwmon driver: bus mV on in1..3, mA on curr1..3, shunt µV on in4..6."""
    d = f"sys/class/hwmon/{hwmon}"
    write(root, f"{d}/name", "ina3221")
    for i, (rail, (mv, ma)) in enumerate(rails.items(), start=1):
        write(root, f"{d}/in{i}_label", rail)
        write(root, f"{d}/in{i}_enable", 1)
        write(root, f"{d}/in{i}_input", mv)
        write(root, f"{d}/curr{i}_input", ma)
        write(root, f"{d}/in{i + 3}_input", 1234)
        write(root, f"{d}/shunt{i}_resistor", 5000)
