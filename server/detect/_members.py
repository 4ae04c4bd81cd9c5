"""Scope members: each device, each model version, each model or each fleet a rule covers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgewatch.server.alert import ScopeLevel
from edgewatch.server.store import Device, Selection


@dataclass(frozen=True, slots=True)
class Member:
    """One thing a rule evaluates: its alert labels and the devices it covers."""

    level: ScopeLevel
    labels: tuple[tuple[str, str], ...]
    selection: Selection
    device: Device | None = None

    @property
    def label_map(self) -> dict[str, str]:
        """``labels`` as a dict."""
        return dict(self.labels)

    def get(self, key: str) -> str | None:
        """One label's value."""
        return self.label_map.get(key)


def _labels(**values: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in values.items() if v)


def members(
    level: ScopeLevel, devices: Sequence[Device], *, by_fleet: bool = False
) -> list[Member]:
    """The members of ``level`` among ``devices``.

    Versions and models carry a ``fleet`` label only with ``by_fleet`` (a rule whose scope
    matches on ``fleet``): then each fleet's share is its own member. Otherwise a device
    joining from another fleet would change the labels, and so the fingerprint, of every
    alert of its version.
    """
    if level is ScopeLevel.DEVICE:
        return [
            Member(
                level,
                _labels(
                    device=d.device_id, model=d.model_name, version=d.model_version, fleet=d.fleet
                ),
                Selection(device_id=d.device_id),
                d,
            )
            for d in devices
        ]
    keys: set[tuple[str | None, str | None, str | None]] = set()
    for d in devices:
        fleet = d.fleet if by_fleet or level is ScopeLevel.FLEET else None
        if level is ScopeLevel.VERSION:
            keys.add((d.model_name, d.model_version, fleet))
        elif level is ScopeLevel.MODEL:
            keys.add((d.model_name, None, fleet))
        else:
            keys.add((None, None, fleet))
    out = []
    for model, version, fleet in sorted(keys, key=lambda k: tuple(x or "" for x in k)):
        if level is ScopeLevel.FLEET:
            if fleet is None:
                continue  # plain OTel clients without edgewatch.fleet belong to no fleet
            labels = _labels(fleet=fleet)
        elif model is None or (level is ScopeLevel.VERSION and version is None):
            continue  # devices that never said which model they run
        else:
            labels = _labels(model=model, version=version, fleet=fleet)
        out.append(
            Member(level, labels, Selection(fleet=fleet, model_name=model, model_version=version))
        )
    return out
