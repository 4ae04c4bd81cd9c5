"""Test doubles for the demo fleet: a Monitor that records what the fleet gives it, optionally
spying on a real ``edgewatch.collector.Monitor`` so the same assertions run on both."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgewatch.demo import MonitorLike, ObservationLike

UNREACHABLE = "http://127.0.0.1:9"
"""The discard port on loopback: nothing listens, so a real Monitor spools and retries."""


@dataclass
class Observed:
    """One observation the fleet made: the row, the prediction and its score."""

    row: np.ndarray
    prediction: Any = None
    score: float | None = None
    t_s: float = 0.0
    """Scenario time of the observation, when the recorder was given a clock."""
    latency_s: float | None = None
    """The latency the device reported with ``record`` (None through ``observe``)."""


class _Observation:
    def __init__(self, inner: ObservationLike | None) -> None:
        self._inner = inner
        self.prediction_value: Any = None
        self.score: float | None = None

    def prediction(self, y: Any, score: float | None = None) -> None:
        self.prediction_value, self.score = y, score
        if self._inner is not None:
            self._inner.prediction(y, score=score)

    @property
    def id(self) -> int | None:
        return self._inner.id if self._inner is not None else None


@dataclass
class RecordingMonitor:
    """A Monitor double that keeps what it was built with and every observation; when given a
    real Monitor as ``inner`` it forwards every call to it as well."""

    model_name: str
    model_version: str
    kwargs: dict[str, Any]
    inner: MonitorLike | None = None
    observed: list[Observed] = field(default_factory=list)
    labelled: list[tuple[int, Any]] = field(default_factory=list)
    closed: bool = False
    clock: Callable[[], float] | None = None

    @contextmanager
    def _observe(self, row: Any) -> Iterator[ObservationLike]:
        t_s = self.clock() if self.clock is not None else 0.0
        inner_cm: AbstractContextManager[ObservationLike | None] = (
            self.inner.observe(row) if self.inner is not None else nullcontext()
        )
        with inner_cm as inner_obs:
            obs = _Observation(inner_obs)
            yield obs
        self.observed.append(
            Observed(np.array(row, copy=True), obs.prediction_value, obs.score, t_s)
        )

    def observe(self, row: Any) -> AbstractContextManager[ObservationLike]:
        if self.closed:
            raise AssertionError("observe() after close()")
        return self._observe(row)

    def record(
        self,
        features: Any = None,
        prediction: Any = None,
        *,
        score: Any = None,
        latency_s: float,
        error: bool = False,
    ) -> int | tuple[int, ...] | None:
        if self.closed:
            raise AssertionError("record() after close()")
        t_s = self.clock() if self.clock is not None else 0.0
        self.observed.append(
            Observed(np.array(features, copy=True), prediction, score, t_s, latency_s)
        )
        if self.inner is None:
            return len(self.observed) - 1
        return self.inner.record(
            features, prediction, score=score, latency_s=latency_s, error=error
        )

    def label(self, inference_id: int, truth: Any) -> bool:
        self.labelled.append((inference_id, truth))
        return self.inner.label(inference_id, truth) if self.inner is not None else False

    def close(self, timeout_s: float = 5.0) -> None:
        self.closed = True
        if self.inner is not None:
            self.inner.close(timeout_s)


class MonitorRecorder:
    """A ``monitor_factory`` that keeps every Monitor it built, in order."""

    def __init__(self, real: bool = False) -> None:
        self.real = real
        self.clock: Callable[[], float] | None = None
        """When set, every observation is stamped with this scenario time."""
        self.monitors: list[RecordingMonitor] = []
        self._lock = threading.Lock()

    def __call__(self, model_name: str, model_version: str, **kwargs: Any) -> RecordingMonitor:
        inner = None
        if self.real:
            monitor_class = importlib.import_module("edgewatch.collector").Monitor
            inner = monitor_class(model_name, model_version, **kwargs)
        monitor = RecordingMonitor(model_name, model_version, dict(kwargs), inner, clock=self.clock)
        with self._lock:
            if any(
                m.kwargs["device_id"] == kwargs["device_id"] and not m.closed for m in self.monitors
            ):
                raise AssertionError(f"a second open Monitor for {kwargs['device_id']}")
            self.monitors.append(monitor)
        return monitor

    def for_device(self, device_id: str) -> list[RecordingMonitor]:
        return [m for m in self.monitors if m.kwargs["device_id"] == device_id]


def has_real_monitor() -> bool:
    """True once ``edgewatch.collector`` ships its ``Monitor``."""
    return hasattr(importlib.import_module("edgewatch.collector"), "Monitor")
