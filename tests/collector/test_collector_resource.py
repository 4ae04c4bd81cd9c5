"""Who is reporting: the device id (derived once, persisted, stable) and the board name."""

from __future__ import annotations

import hashlib
from pathlib import Path

from collector_sysfs import write

from edgewatch.collector._resource import derive_device_id, device_model


def test_device_id_is_derived_from_machine_id_hashed_and_persisted(tmp_path: Path) -> None:
    machine_id = write(tmp_path, "etc/machine-id", "4c4c4544004b4a10804bb2c04f4e5a31")
    spool = tmp_path / "spool"
    first = derive_device_id(spool, machine_id)
    expected = hashlib.sha256(b"edgewatch:4c4c4544004b4a10804bb2c04f4e5a31").hexdigest()[:32]
    assert first == expected  # the raw machine id never leaves the device
    machine_id.write_text("something-else\n")
    assert derive_device_id(spool, machine_id) == first  # persisted: stable across restarts


def test_device_id_without_machine_id_is_random_then_stable(tmp_path: Path) -> None:
    missing = tmp_path / "no-machine-id"
    a = derive_device_id(tmp_path / "a", missing)
    b = derive_device_id(tmp_path / "b", missing)
    assert a != b and len(a) == 32
    assert derive_device_id(tmp_path / "a", missing) == a


def test_board_name_from_device_tree_or_dmi(tmp_path: Path) -> None:
    assert device_model(tmp_path) is None
    write(tmp_path, "sys/class/dmi/id/product_name", "Industrial PC 5000")
    assert device_model(tmp_path) == "Industrial PC 5000"
    dt = tmp_path / "sys/firmware/devicetree/base/model"
    dt.parent.mkdir(parents=True)
    dt.write_bytes(
        b"NVIDIA Jetson Orin Nano Developer Kit\x00"
    )  # NUL-terminated, as the kernel has it
    assert device_model(tmp_path) == "NVIDIA Jetson Orin Nano Developer Kit"
