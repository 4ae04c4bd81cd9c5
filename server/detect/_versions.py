"""When each device switched to the model version it runs now, as the scheduler saw it.

Stored data points carry no model version: the device registry holds each device's
current version, so a query by version counts a device's whole history under the version
it runs now. A rollout judged over the last hour would then read the new version's
window full of the old version's data. The scheduler watches the registry on every tick
and remembers when a device's version changed; rollout comparisons read each switched
device from that moment only.

Known limit: switches are remembered in memory. After a restart, a device that switched
before it is read over its whole window until the window has passed the switch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from edgewatch.server.store import Device


class VersionHistory:
    """Per device: the version last seen and the time a change to it was first seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, str | None] = {}
        self._since: dict[str, float] = {}

    def observe(self, devices: Sequence[Device], now_s: float) -> None:
        """Record the registry's versions at ``now_s``. A changed version is taken to start at
        the device's last report: later than the switch by up to one export (the batch that
        changed the registry), so no data of the old version is ever read as the new one's."""
        with self._lock:
            for d in devices:
                before = self._current.get(d.device_id, d.model_version)
                if d.device_id in self._current and before != d.model_version:
                    self._since[d.device_id] = min(now_s, d.last_seen_s)
                self._current[d.device_id] = d.model_version

    def since(self, device_id: str) -> float | None:
        """When the device's current version started (None: before the scheduler saw it)."""
        with self._lock:
            return self._since.get(device_id)
