"""Scenario files: the packaged default, the fleet layout, and an error naming the file, the
incident and the field for every kind of mistake."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgewatch.demo import V1, V2, Scenario, ScenarioError, load_scenario, parse_scenario
from edgewatch.demo._scenario_file import INCIDENT_KINDS
from edgewatch.detectors import GateConfig

GOOD: dict[str, Any] = {
    "name": "small",
    "duration": "1h",
    "devices": {"count": 4, "fleets": ["east"], "hardware": ["rpi4"], "v2_fraction": 0.5},
    "incidents": [
        {"kind": "offline", "devices": ["demo-east-0"], "start": "10m", "end": "20m"},
        {"kind": "sensor_drift", "devices": ["demo-east-1"], "start": 300, "noise_std": 2},
    ],
}


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


def test_the_default_scenario_has_every_incident_kind_and_healthy_devices() -> None:
    scenario = load_scenario()
    assert scenario.source == "default.yaml"
    assert {inc.kind for inc in scenario.incidents} == set(INCIDENT_KINDS)
    devices = scenario.devices()
    assert len(devices) == 14
    targeted = [d for inc in scenario.incidents for d in inc.devices]
    assert len(targeted) == len(set(targeted)), "one incident per device"
    healthy = [d for d in devices if d.device_id not in targeted]
    assert len(healthy) >= 3
    assert {d.version for d in healthy} == {V1, V2}
    assert all(inc.start_s < scenario.duration_s for inc in scenario.incidents)


def test_the_default_scenario_gives_v2_a_clean_canary_the_gate_can_pass() -> None:
    """Every incident is on a v1 device; each hardware class has the gate's ``min_devices``
    healthy v2 devices; v1 keeps more devices than v2 after the bad rollout takes its own, so it
    stays the established version the rollouts are compared with."""
    scenario = load_scenario()
    devices = {d.device_id: d for d in scenario.devices()}
    targeted = {d for inc in scenario.incidents for d in inc.devices}
    assert {devices[d].version for d in targeted} == {V1}
    for hardware in scenario.hardware:
        v2 = [d for d in devices.values() if d.hardware == hardware and d.version == V2]
        assert len(v2) >= GateConfig().min_devices, hardware
    rolled = {d for inc in scenario.incidents if inc.kind == "bad_rollout" for d in inc.devices}
    v1_left = [d for d in devices.values() if d.version == V1 and d.device_id not in rolled]
    assert len(v1_left) > sum(1 for d in devices.values() if d.version == V2)


def test_durations_read_with_units() -> None:
    scenario = parse_scenario(GOOD, "small.yaml")
    assert scenario.duration_s == 3600
    assert (scenario.incidents[0].start_s, scenario.incidents[0].end_s) == (600, 1200)
    assert scenario.incidents[1].end_s is None
    assert scenario.incidents[1].params["noise_std"] == 2


def test_devices_are_laid_out_round_robin() -> None:
    data = with_change(("devices",), {"count": 6, "fleets": ["a", "b"], "v2_fraction": 0.5})
    data["incidents"] = []
    devices = parse_scenario(data).devices()
    assert [d.device_id for d in devices] == [
        "demo-a-0",
        "demo-b-0",
        "demo-a-1",
        "demo-b-1",
        "demo-a-2",
        "demo-b-2",
    ]
    assert [d.hardware for d in devices[:3]] == ["rpi4", "jetson-nano", "x86-gateway"]
    assert [d.version for d in devices].count(V2) == 3
    assert len({d.seed for d in devices}) == 6


def test_a_scenario_file_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario) and scenario.name == "small"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("duration",), _DELETE, "bad.yaml: duration: Field required"),
        (("duration",), 0, "bad.yaml: duration: Input should be greater than 0"),
        (("duration",), "an hour", "bad.yaml: duration: 'an hour' is not a duration"),
        (
            ("devices", "count"),
            0,
            "bad.yaml: devices.count: Input should be greater than or equal to 1",
        ),
        (("devices", "fleets"), [], "bad.yaml: devices.fleets: List should have at least 1 item"),
        (("devices", "fleets"), ["East"], "bad.yaml: devices.fleets[0]: String should match"),
        (
            ("devices", "fleets"),
            ["east", "west", "east"],
            "bad.yaml: devices.fleets: fleet names must be distinct; repeated: east",
        ),
        (
            ("incidents", 1, "start"),
            "1h",
            "bad.yaml: incidents[1].start: 3600 s is not before the end of the scenario",
        ),
        (("devices", "hardware"), ["pi5"], "bad.yaml: devices.hardware[0]: Input should be 'rpi4'"),
        (("devices", "v2_fraction"), 1.5, "bad.yaml: devices.v2_fraction: Input should be less"),
        (
            ("devices", "rate_per_s"),
            -1,
            "bad.yaml: devices.rate_per_s: Input should be greater than 0",
        ),
        (("devices", "colour"), "red", "bad.yaml: devices.colour: Extra inputs are not permitted"),
        (
            ("incidents", 1, "kind"),
            "teleport",
            "bad.yaml: incidents[1].kind: 'teleport' is not a kind",
        ),
        (
            ("incidents", 1, "kind"),
            _DELETE,
            "bad.yaml: incidents[1].kind: missing; expected one of",
        ),
        (
            ("incidents", 0, "devices"),
            [],
            "bad.yaml: incidents[0].devices: List should have at least 1",
        ),
        (
            ("incidents", 0, "devices"),
            ["demo-east-9"],
            "bad.yaml: incidents[0].devices: no device demo-east-9",
        ),
        (("incidents", 0, "start"), _DELETE, "bad.yaml: incidents[0].start: Field required"),
        (("incidents", 0, "start"), "-5m", "bad.yaml: incidents[0].start: '-5m' is not a duration"),
        (
            ("incidents", 0, "end"),
            "5m",
            "bad.yaml: incidents[0].end: end (300 s) must be after start (600 s)",
        ),
        (
            ("incidents", 1, "noise_std"),
            -1,
            "bad.yaml: incidents[1].noise_std: Input should be greater than or equal to 0",
        ),
        (
            ("incidents", 1, "blur_sigma"),
            9,
            "bad.yaml: incidents[1].blur_sigma: Input should be less than or equal to 4",
        ),
        (
            ("incidents", 1, "brightness_offset"),
            "x",
            "bad.yaml: incidents[1].brightness_offset: Input should be a valid number",
        ),
        (
            ("incidents", 1, "noise_std"),
            0,
            "bad.yaml: incidents[1]: set at least one of brightness_offset",
        ),
        (
            ("incidents", 1, "slowdown"),
            3,
            "bad.yaml: incidents[1].slowdown: Extra inputs are not permitted",
        ),
        (("incidents",), "none", "bad.yaml: incidents: Input should be a valid list"),
    ],
)
def test_each_mistake_is_named_with_file_incident_and_field(
    path: tuple[Any, ...], value: Any, expected: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(with_change(path, value), "bad.yaml")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("incident", "expected"),
    [
        (
            {"kind": "unseen_class", "fraction": 0},
            "incidents[0].fraction: Input should be greater than 0",
        ),
        (
            {"kind": "latency_regression", "slowdown": 0.5},
            "incidents[0].slowdown: Input should be greater than or equal to 1",
        ),
        (
            {"kind": "latency_regression", "slowdown": 1},
            "incidents[0]: set slowdown above 1 or extra_ms above 0",
        ),
        (
            {"kind": "memory_leak", "rate_mb_per_h": 0},
            "incidents[0].rate_mb_per_h: Input should be greater than 0",
        ),
        (
            {"kind": "power_increase", "factor": 0.5},
            "incidents[0].factor: Input should be greater than 1",
        ),
        ({"kind": "offline", "factor": 2}, "incidents[0].factor: Extra inputs are not permitted"),
        (
            {"kind": "bad_rollout", "version": "v9"},
            "incidents[0].version: Extra inputs are not permitted",
        ),
        (
            {"kind": "sensor_drift", "noise_std": 1, "ramp": "soon"},
            "incidents[0].ramp: 'soon' is not a duration",
        ),
    ],
)
def test_each_incident_kind_checks_its_parameters(incident: dict[str, Any], expected: str) -> None:
    data = copy.deepcopy(GOOD)
    data["incidents"] = [{"devices": ["demo-east-0"], "start": 0, **incident}]
    with pytest.raises(ScenarioError, match=r"^bad\.yaml: ") as caught:
        parse_scenario(data, "bad.yaml")
    assert expected in str(caught.value)


def test_overlapping_incidents_of_one_kind_on_a_device_are_refused() -> None:
    data = copy.deepcopy(GOOD)
    data["incidents"].append({"kind": "offline", "devices": ["demo-east-0"], "start": "15m"})
    with pytest.raises(ScenarioError, match=r"incidents\[2\].start: overlaps incidents\[0\]"):
        parse_scenario(data, "bad.yaml")


def test_back_to_back_incidents_of_one_kind_are_fine() -> None:
    data = copy.deepcopy(GOOD)
    data["incidents"].append({"kind": "offline", "devices": ["demo-east-0"], "start": "20m"})
    assert len(parse_scenario(data).incidents) == 3


def test_fewer_devices_than_the_incidents_target_is_refused() -> None:
    scenario = parse_scenario(GOOD, "small.yaml")
    assert len(scenario.with_overrides(device_count=2).devices()) == 2
    with pytest.raises(
        ScenarioError, match=r"small.yaml: incidents\[1\].devices: no device demo-east-1"
    ):
        scenario.with_overrides(device_count=1)
    with pytest.raises(ScenarioError, match="device count must be at least 1, not 0"):
        scenario.with_overrides(device_count=0)
    with pytest.raises(ScenarioError, match="duration must be positive, not -1 s"):
        scenario.with_overrides(duration_s=-1)
    assert scenario.with_overrides(duration_s=60).duration_s == 60


def test_file_level_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read the scenario file"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("duration: [1h\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml: not valid YAML"):
        load_scenario(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- duration: 1h\n")
    with pytest.raises(ScenarioError, match=r"listed\.yaml: expected a mapping at the top level"):
        load_scenario(listed)


def test_trimming_keeps_only_incidents_on_remaining_devices() -> None:
    scenario = parse_scenario(GOOD, "small.yaml")
    trimmed, dropped = scenario.trimmed_to(1)
    assert [d.device_id for d in trimmed.devices()] == ["demo-east-0"]
    assert all(set(i.devices) <= {"demo-east-0"} for i in trimmed.incidents)
    assert dropped and all("left out on demo-east-1" in line for line in dropped)
    assert scenario.trimmed_to(scenario.device_count) == (scenario, [])
