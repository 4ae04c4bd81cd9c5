"""The scenario file's schema (pydantic, the I/O edge): devices, duration and incidents.

Times are scenario seconds: a number, or a string with a unit (``"90s"``, ``"20m"``, ``"1.5h"``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

INCIDENT_KINDS = (
    "sensor_drift",
    "unseen_class",
    "latency_regression",
    "memory_leak",
    "power_increase",
    "offline",
    "bad_rollout",
)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$")


def parse_seconds(value: object) -> object:
    """Turn ``"20m"`` into 1200.0; numbers pass through for pydantic to check."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not a duration: use seconds or a number with s, m or h (e.g. '20m')"
            )
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def duration_seconds(text: str) -> float:
    """Seconds in ``text``: a plain number (``"90"``) or one with a unit (``"20m"``)."""
    try:
        return float(text)
    except ValueError:
        seconds = parse_seconds(text)
        assert isinstance(seconds, float)
        return seconds


Seconds = Annotated[float, BeforeValidator(parse_seconds), Field(ge=0, allow_inf_nan=False)]
FleetName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
Hardware = Literal["rpi4", "jetson-nano", "x86-gateway"]
HARDWARE_LABELS: tuple[Hardware, ...] = ("rpi4", "jetson-nano", "x86-gateway")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DevicesFile(_Strict):
    """How the fleet is made: devices are spread round-robin over fleets and hardware labels."""

    count: int = Field(default=12, ge=1, le=1000)
    fleets: list[FleetName] = Field(default_factory=lambda: ["north", "south"], min_length=1)
    hardware: list[Hardware] = Field(default_factory=lambda: list(HARDWARE_LABELS), min_length=1)
    v2_fraction: float = Field(default=0.25, ge=0, le=1)
    rate_per_s: float = Field(default=5.0, gt=0, le=1000)
    seed: int = Field(default=7, ge=0)

    @field_validator("fleets")
    @classmethod
    def _distinct_fleets(cls, fleets: list[str]) -> list[str]:
        repeated = sorted({f for f in fleets if fleets.count(f) > 1})
        if repeated:
            raise ValueError(f"fleet names must be distinct; repeated: {', '.join(repeated)}")
        return fleets


class _IncidentFile(_Strict):
    devices: list[str] = Field(min_length=1)
    start: Seconds
    end: Seconds | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"end ({end:g} s) must be after start ({start:g} s)")
        return end


class SensorDriftFile(_IncidentFile):
    """The camera drifts: brightness offset, blur and noise, reaching full strength after ``ramp``."""

    kind: Literal["sensor_drift"]
    brightness_offset: float = Field(default=0.0, ge=-16, le=16)
    blur_sigma: float = Field(default=0.0, ge=0, le=4)
    noise_std: float = Field(default=0.0, ge=0, le=16)
    ramp: Seconds = 0.0

    @model_validator(mode="after")
    def _does_something(self) -> SensorDriftFile:
        if self.brightness_offset == 0 and self.blur_sigma == 0 and self.noise_std == 0:
            raise ValueError("set at least one of brightness_offset, blur_sigma, noise_std")
        return self


class UnseenClassFile(_IncidentFile):
    """A share of the inputs are images of a digit no model was trained on."""

    kind: Literal["unseen_class"]
    fraction: float = Field(default=0.5, gt=0, le=1)


class LatencyRegressionFile(_IncidentFile):
    """The device is throttled: each inference takes ``slowdown`` times as much real work, plus
    ``extra_ms`` milliseconds more of it (the model run again until that much has passed)."""

    kind: Literal["latency_regression"]
    slowdown: float = Field(default=1.0, ge=1, le=100)
    extra_ms: float = Field(default=0.0, ge=0, le=1000)

    @model_validator(mode="after")
    def _does_something(self) -> LatencyRegressionFile:
        if self.slowdown == 1 and self.extra_ms == 0:
            raise ValueError("set slowdown above 1 or extra_ms above 0")
        return self


class MemoryLeakFile(_IncidentFile):
    """The inference process's resident memory grows steadily (back to normal after ``end``)."""

    kind: Literal["memory_leak"]
    rate_mb_per_h: float = Field(default=200.0, gt=0, le=100_000)


class PowerIncreaseFile(_IncidentFile):
    """The device draws ``factor`` times its usual (simulated) power."""

    kind: Literal["power_increase"]
    factor: float = Field(default=1.5, gt=1, le=10)


class OfflineFile(_IncidentFile):
    """The device's network is down: every export fails, the collector spools, then catches up."""

    kind: Literal["offline"]


class BadRolloutFile(_IncidentFile):
    """The devices switch to v2.1, a v2 build trained on corrupted labels, and roll back at ``end``."""

    kind: Literal["bad_rollout"]


IncidentFile = Annotated[
    SensorDriftFile
    | UnseenClassFile
    | LatencyRegressionFile
    | MemoryLeakFile
    | PowerIncreaseFile
    | OfflineFile
    | BadRolloutFile,
    Field(discriminator="kind"),
]


class ScenarioFile(_Strict):
    """A whole scenario file."""

    name: str = Field(default="scenario", min_length=1, max_length=100)
    description: str = ""
    duration: Seconds = Field(gt=0)
    devices: DevicesFile = DevicesFile()
    incidents: list[IncidentFile] = Field(default_factory=list)
