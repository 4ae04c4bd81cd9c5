"""Scope members: labels are stable (a version's alerts do not change identity when a
device of another fleet joins) and selections cover exactly the member's devices."""

from __future__ import annotations

from edgewatch.server.alert import ScopeLevel
from edgewatch.server.detect import members
from edgewatch.server.store import Device, DeviceStatus, Selection


def _device(device_id: str, fleet: str, version: str | None = "v1") -> Device:
    return Device(
        device_id, fleet, "digits" if version else None, version, None, None, None, None,
        None, None, {}, 0.0, 0.0, None, None, DeviceStatus.ONLINE,
    )  # fmt: skip


def test_levels_labels_and_selections() -> None:
    devices = [_device("a", "north"), _device("b", "south"), _device("c", "north", "v2")]
    by_device = members(ScopeLevel.DEVICE, devices)
    assert by_device[0].label_map == {
        "device": "a",
        "model": "digits",
        "version": "v1",
        "fleet": "north",
    }
    assert by_device[0].selection == Selection(device_id="a")
    versions = members(ScopeLevel.VERSION, devices)
    assert [m.label_map for m in versions] == [
        {"model": "digits", "version": "v1"},
        {"model": "digits", "version": "v2"},
    ]
    assert versions[0].selection == Selection(model_name="digits", model_version="v1")
    split = members(ScopeLevel.VERSION, devices, by_fleet=True)
    assert [m.label_map.get("fleet") for m in split] == ["north", "south", "north"]
    assert split[1].selection == Selection(fleet="south", model_name="digits", model_version="v1")
    assert [m.label_map for m in members(ScopeLevel.MODEL, devices)] == [{"model": "digits"}]
    assert [m.label_map for m in members(ScopeLevel.FLEET, devices)] == [
        {"fleet": "north"},
        {"fleet": "south"},
    ]


def test_version_identity_does_not_depend_on_fleets() -> None:
    before = members(ScopeLevel.VERSION, [_device("a", "north")])
    after = members(ScopeLevel.VERSION, [_device("a", "north"), _device("b", "south")])
    assert before[0].labels == after[0].labels


def test_devices_without_a_model_are_not_versions() -> None:
    assert members(ScopeLevel.VERSION, [_device("a", "north", version=None)]) == []
