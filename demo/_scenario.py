"""Scenarios as values: the devices of the fleet and the incidents injected into them.

``load_scenario`` reads and validates a YAML file; every error names the file, the incident
index and the field, e.g. ``default.yaml: incidents[2].noise_std: ...``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edgewatch.demo._model import V1, V2
from edgewatch.demo._scenario_file import INCIDENT_KINDS, ScenarioFile

DEFAULT_SCENARIO = "default.yaml"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident: what (``kind`` and its ``params``), on which devices, when (scenario seconds)."""

    kind: str
    devices: tuple[str, ...]
    start_s: float
    end_s: float | None = None
    params: Mapping[str, float] = field(default_factory=dict)

    def active(self, t_s: float) -> bool:
        """True while scenario time ``t_s`` is inside ``[start_s, end_s)``."""
        return self.start_s <= t_s and (self.end_s is None or t_s < self.end_s)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One simulated device as the scenario lays it out."""

    index: int
    device_id: str
    fleet: str
    hardware: str
    version: str
    seed: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario: the fleet's shape, its duration and its incidents."""

    name: str
    description: str
    duration_s: float
    device_count: int
    fleets: tuple[str, ...]
    hardware: tuple[str, ...]
    v2_fraction: float
    rate_per_s: float
    seed: int
    incidents: tuple[Incident, ...]
    source: str = "<scenario>"

    def devices(self) -> tuple[DeviceSpec, ...]:
        """The devices, ``demo-<fleet>-<n>``, spread round-robin over fleets and hardware; the v2
        devices are spread evenly by ``v2_fraction``."""
        specs = []
        for i in range(self.device_count):
            fleet = self.fleets[i % len(self.fleets)]
            is_v2 = math.floor((i + 1) * self.v2_fraction) > math.floor(i * self.v2_fraction)
            specs.append(
                DeviceSpec(
                    index=i,
                    device_id=f"demo-{fleet}-{i // len(self.fleets)}",
                    fleet=fleet,
                    hardware=self.hardware[i % len(self.hardware)],
                    version=V2 if is_v2 else V1,
                    seed=self.seed * 1000 + i,
                )
            )
        return tuple(specs)

    def incidents_for(self, device_id: str) -> tuple[Incident, ...]:
        """The incidents that target ``device_id``, in file order."""
        return tuple(inc for inc in self.incidents if device_id in inc.devices)

    def with_overrides(
        self, *, device_count: int | None = None, duration_s: float | None = None
    ) -> Scenario:
        """The same scenario with another device count or duration (re-checked: the targets of
        every incident must still exist)."""
        if device_count is not None and device_count < 1:
            raise ScenarioError(
                f"{self.source}: device count must be at least 1, not {device_count}"
            )
        if duration_s is not None and not duration_s > 0:
            raise ScenarioError(f"{self.source}: duration must be positive, not {duration_s:g} s")
        changed = replace(
            self,
            device_count=self.device_count if device_count is None else device_count,
            duration_s=self.duration_s if duration_s is None else duration_s,
        )
        _check_targets(changed)
        return changed

    def trimmed_to(self, device_count: int) -> tuple[Scenario, list[str]]:
        """The scenario on its first ``device_count`` devices, without the incidents (or incident
        targets) that fall outside them; also says what was left out, one line per incident."""
        kept_ids = {d.device_id for d in replace(self, device_count=device_count).devices()}
        incidents: list[Incident] = []
        dropped: list[str] = []
        for index, incident in enumerate(self.incidents):
            targets = tuple(d for d in incident.devices if d in kept_ids)
            gone = [d for d in incident.devices if d not in kept_ids]
            if gone:
                dropped.append(
                    f"incidents[{index}] ({incident.kind}) left out on {', '.join(gone)}"
                )
            if targets:
                incidents.append(replace(incident, devices=targets))
        return replace(self, incidents=tuple(incidents)).with_overrides(
            device_count=device_count
        ), dropped


def _location(loc: Sequence[int | str]) -> str:
    """``('incidents', 2, 'sensor_drift', 'noise_std')`` → ``incidents[2].noise_std``."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif i == 2 and loc[0] == "incidents" and item in INCIDENT_KINDS:
            continue
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts) or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    suffix = "" if error["type"] == "missing" or isinstance(got, dict) else f" (got {got!r})"
    return f"{message}{suffix}"


def _problem(error: Mapping[str, Any]) -> str:
    where = _location(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        got = error["input"].get("kind") if isinstance(error["input"], dict) else None
        found = "missing" if got is None else f"{got!r} is not a kind"
        return f"{where}.kind: {found}; expected one of {', '.join(INCIDENT_KINDS)}"
    return f"{where}: {_describe(error)}"


def _check_targets(scenario: Scenario) -> None:
    devices = scenario.devices()
    known = {d.device_id for d in devices}
    for index, incident in enumerate(scenario.incidents):
        missing = [d for d in incident.devices if d not in known]
        if missing:
            raise ScenarioError(
                f"{scenario.source}: incidents[{index}].devices: no device {', '.join(missing)} in a "
                f"fleet of {scenario.device_count} (ids run "
                f"{devices[0].device_id} .. {devices[-1].device_id})"
            )
    for index, incident in enumerate(scenario.incidents):
        for earlier_index, earlier in enumerate(scenario.incidents[:index]):
            shared = sorted(set(incident.devices) & set(earlier.devices))
            if earlier.kind == incident.kind and shared and _overlap(earlier, incident):
                raise ScenarioError(
                    f"{scenario.source}: incidents[{index}].start: overlaps incidents[{earlier_index}]"
                    f" (both {incident.kind} on {shared[0]}); give them disjoint times"
                )


def _overlap(a: Incident, b: Incident) -> bool:
    a_end = math.inf if a.end_s is None else a.end_s
    b_end = math.inf if b.end_s is None else b.end_s
    return a.start_s < b_end and b.start_s < a_end


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    """Validate parsed YAML into a ``Scenario``; ``source`` names the file in error messages."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(_problem(err) for err in e.errors())
        raise ScenarioError(f"{source}: {problems}") from None
    incidents = []
    for item in parsed.incidents:
        params = {
            key: float(value)
            for key, value in item.model_dump(exclude={"kind", "devices", "start", "end"}).items()
        }
        if "ramp" in params:
            params["ramp_s"] = params.pop("ramp")
        incidents.append(Incident(item.kind, tuple(item.devices), item.start, item.end, params))
    devices = parsed.devices
    scenario = Scenario(
        name=parsed.name,
        description=parsed.description,
        duration_s=parsed.duration,
        device_count=devices.count,
        fleets=tuple(devices.fleets),
        hardware=tuple(devices.hardware),
        v2_fraction=devices.v2_fraction,
        rate_per_s=devices.rate_per_s,
        seed=devices.seed,
        incidents=tuple(incidents),
        source=source,
    )
    _check_targets(scenario)
    for index, incident in enumerate(scenario.incidents):
        if incident.start_s >= scenario.duration_s:
            raise ScenarioError(
                f"{source}: incidents[{index}].start: {incident.start_s:g} s is not before the "
                f"end of the scenario (duration {scenario.duration_s:g} s)"
            )
    return scenario


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario YAML file; ``None`` loads the packaged default scenario."""
    if path is None:
        ref = resources.files("edgewatch.demo").joinpath("scenarios", DEFAULT_SCENARIO)
        return parse_scenario(yaml.safe_load(ref.read_text()), DEFAULT_SCENARIO)
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as e:
        raise ScenarioError(f"{file}: cannot read the scenario file: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(f"{file}: not valid YAML: {e}") from None
    return parse_scenario(data, str(file))
