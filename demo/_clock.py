"""Scenario time: runs ``speed`` times faster than wall time, from the moment the fleet starts.
Only the incidents' schedule uses it; timestamps on the wire stay real."""

from __future__ import annotations

import time
from collections.abc import Callable


class ScenarioClock:
    """Seconds of scenario time since ``start()``; 0 before it."""

    def __init__(self, speed: float, wall: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = speed
        self._wall = wall
        self._started_at: float | None = None

    def start(self) -> None:
        """Scenario time 0 is now."""
        self._started_at = self._wall()

    def now_s(self) -> float:
        """Scenario seconds elapsed since ``start()``."""
        if self._started_at is None:
            return 0.0
        return (self._wall() - self._started_at) * self.speed

    def wall_s(self, scenario_s: float) -> float:
        """How many wall seconds ``scenario_s`` scenario seconds take."""
        return scenario_s / self.speed
