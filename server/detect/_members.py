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


def members(level: ScopeLevel, devices: Sequence[Device]) -> list[Member]:
    """The members of ``level`` among ``devices`` (a version's fleet label only when all its
    devices share one fleet)."""
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
    groups: dict[tuple[str | None, ...], set[str | None]] = {}
    for d in devices:
        if level is ScopeLevel.VERSION:
            key: tuple[str | None, ...] = (d.model_name, d.model_version)
        elif level is ScopeLevel.MODEL:
            key = (d.model_name,)
        else:
            key = (d.fleet,)
        groups.setdefault(key, set()).add(d.fleet)
    out = []
    for key, fleets in sorted(groups.items(), key=lambda kv: tuple(x or "" for x in kv[0])):
        fleet = next(iter(fleets)) if len(fleets) == 1 else None
        if level is ScopeLevel.VERSION:
            model, version = key
            if model is None or version is None:
                continue
            out.append(
                Member(
                    level,
                    _labels(model=model, version=version, fleet=fleet),
                    Selection(model_name=model, model_version=version),
                )
            )
        elif level is ScopeLevel.MODEL:
            if key[0] is None:
                continue
            out.append(
                Member(level, _labels(model=key[0], fleet=fleet), Selection(model_name=key[0]))
            )
        else:
            out.append(Member(level, _labels(fleet=key[0] or "default"), Selection(fleet=key[0])))
    return out
