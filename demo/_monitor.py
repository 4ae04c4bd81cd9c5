"""The part of the collector's ``Monitor`` the demo fleet uses, as a protocol, so the fleet runs
on the real ``edgewatch.collector.Monitor`` or on a test double that records what it is given."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol


class ObservationLike(Protocol):
    """What ``Monitor.observe`` yields: the place to report the model's answer."""

    def prediction(self, y: Any, score: float | None = None) -> None: ...

    @property
    def id(self) -> int | None:
        """The inference's id for a late label, once the observation ended."""
        ...


class MonitorLike(Protocol):
    """The subset of ``edgewatch.collector.Monitor`` the fleet calls."""

    def observe(self, row: Any) -> AbstractContextManager[ObservationLike]: ...

    def record(
        self,
        features: Any = None,
        prediction: Any = None,
        *,
        score: Any = None,
        latency_s: float,
        error: bool = False,
    ) -> int | tuple[int, ...] | None: ...

    def label(self, inference_id: int, truth: Any) -> bool: ...

    def close(self, timeout_s: float = 5.0) -> None: ...


MonitorFactory = Callable[..., MonitorLike]
"""Called like ``Monitor(model_name, model_version, *, endpoint=..., ...)``."""


def collector_monitor(*args: Any, **kwargs: Any) -> MonitorLike:
    """Build an ``edgewatch.collector.Monitor`` (imported on first use)."""
    collector = importlib.import_module("edgewatch.collector")
    monitor_class = getattr(collector, "Monitor", None)
    if monitor_class is None:
        raise RuntimeError("this install of edgewatch.collector has no Monitor")
    monitor: MonitorLike = monitor_class(*args, **kwargs)
    return monitor
