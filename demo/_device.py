"""One simulated device: its input stream, its model version, its samplers, its own Monitor.

``step()`` is one real inference observed by the Monitor; the fleet calls it at the device's
rate from the device's thread, tests call it directly.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edgewatch.collector import Sampler, Transport, semconv
from edgewatch.demo._incidents import DeviceConditions
from edgewatch.demo._model import CLASSES, FEATURE_NAMES, MODEL_NAME, DigitsData
from edgewatch.demo._monitor import MonitorFactory, MonitorLike
from edgewatch.demo._samplers import (
    SIMULATED_ATTRIBUTE,
    SimulatedCpuSampler,
    SimulatedMemorySampler,
    SimulatedPowerSampler,
    SimulatedTemperatureSampler,
)
from edgewatch.demo._scenario import DeviceSpec, Incident
from edgewatch.demo._stream import InputStream
from edgewatch.demo._transport import FailingTransport

LABEL_SHARE = 0.3
"""Share of inferences whose true digit reaches the device later (a human check downstream)."""
LABEL_DELAY_S = (60.0, 900.0)
"""Scenario seconds between an inference and its label: uniform in this range, so labels
often arrive intervals (and sometimes a model-version restart) after their inference."""


class Classifier(Protocol):
    """A model a device runs: predicted class and confidence per row."""

    def predict(
        self, x: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """What every device's Monitor shares: where to send, how often, where to spool."""

    endpoint: str
    token: str | None
    interval_s: float
    data_dir: Path
    runtime: str = "onnxruntime"
    close_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device as the progress display shows it."""

    device_id: str
    fleet: str
    hardware: str
    version: str
    inferences: int
    incidents: tuple[str, ...]
    error: str | None


class SimulatedDevice:
    """A simulated edge device running a real model under a scenario's incidents."""

    def __init__(
        self,
        spec: DeviceSpec,
        incidents: tuple[Incident, ...],
        models: Mapping[str, Classifier],
        data: DigitsData,
        settings: MonitorSettings,
        scenario_time_s: Callable[[], float],
        monitor_factory: MonitorFactory,
        transport_factory: Callable[[], Transport],
        timer: Callable[[], float] = time.thread_time,
    ) -> None:
        self.spec = spec
        self.conditions = DeviceConditions(spec.version, incidents)
        self._models = models
        self._settings = settings
        self._now = scenario_time_s
        self._monitor_factory = monitor_factory
        self._timer = timer
        self._stream = InputStream(data, self.conditions, spec.seed)
        self.transport: FailingTransport | None = None
        if any(inc.kind == "offline" for inc in incidents):
            conditions = self.conditions
            self.transport = FailingTransport(
                transport_factory(), lambda: conditions.offline(scenario_time_s())
            )
        self.samplers: tuple[Sampler, ...] = (
            SimulatedPowerSampler(spec.hardware, self.conditions, scenario_time_s, spec.seed),
            SimulatedMemorySampler(spec.hardware, self.conditions, scenario_time_s, spec.seed),
            SimulatedCpuSampler(spec.hardware, self.conditions, scenario_time_s, spec.seed),
            SimulatedTemperatureSampler(spec.hardware, spec.seed),
        )
        self._lock = threading.Lock()  # guards _monitor between the device thread and close()
        self._monitor: MonitorLike | None = None
        self._version = spec.version
        self._closed = False
        self.inferences = 0
        self.labels_sent = 0
        self.error: str | None = None
        self._label_rng = np.random.default_rng(spec.seed + 1)
        self._late: list[tuple[float, int, int]] = []  # heap of (due time, inference id, digit)

    @property
    def spool_dir(self) -> Path:
        """Where this device's collector keeps unsent batches."""
        return self._settings.data_dir / "spool" / self.spec.device_id

    @property
    def version(self) -> str:
        """The model version the device runs now."""
        return self._version

    def _open_monitor(self, version: str) -> MonitorLike:
        s = self._settings
        return self._monitor_factory(
            MODEL_NAME,
            version,
            endpoint=s.endpoint,
            token=s.token,
            device_id=self.spec.device_id,
            fleet=self.spec.fleet,
            features=list(FEATURE_NAMES),
            classes=list(CLASSES),
            interval_s=s.interval_s,
            spool_dir=str(self.spool_dir),
            hardware=self.spec.hardware,
            runtime=s.runtime,
            resource_attributes={
                semconv.POWER_SOURCES: semconv.POWER_SIMULATED,
                SIMULATED_ATTRIBUTE: "true",
            },
            samplers=list(self.samplers),
            transport=self.transport,
        )

    def open(self) -> None:
        """Start the device's Monitor for the version it runs at the current scenario time."""
        with self._lock:
            if self._monitor is None and not self._closed:
                self._version = self.conditions.model_version(self._now())
                self._monitor = self._open_monitor(self._version)

    def step(self) -> None:
        """One inference on the next frame, observed by the Monitor. A version change (bad
        rollout or its rollback) first closes the Monitor and opens one for the new version,
        as a device restarting on a new model would."""
        t_s = self._now()
        with self._lock:
            if self._closed:
                return
            version = self.conditions.model_version(t_s)
            if self._monitor is None or version != self._version:
                if self._monitor is not None:
                    self._monitor.close(self._settings.close_timeout_s)
                self._version = version
                self._monitor = self._open_monitor(version)
            monitor = self._monitor
        frame = self._stream.next_frame(t_s)
        model = self._models[version]
        # The inference's thread CPU time, not the wall clock: the fleet's devices share one
        # process and its GIL, and a device's wall latency would measure the other devices'
        # turns (milliseconds) instead of its own ~50 µs of work. On its own hardware a
        # device's inference has the processor to itself.
        started = self._timer()
        try:
            labels, scores = self._infer(
                model,
                frame.pixels,
                self.conditions.slowdown(t_s),
                self.conditions.extra_work_s(t_s),
            )
        except Exception:
            monitor.record(frame.pixels, latency_s=self._timer() - started, error=True)
            raise
        ids = monitor.record(
            frame.pixels,
            int(labels[0]),
            score=float(scores[0]),
            latency_s=self._timer() - started,
        )
        self.inferences += 1
        self._late_labels(monitor, ids if isinstance(ids, int) else None, frame.digit, t_s)

    def _late_labels(
        self, monitor: MonitorLike, inference_id: int | None, digit: int, t_s: float
    ) -> None:
        """Queue this inference's truth for some of them; send the truths that are due."""
        rng = self._label_rng
        if inference_id is not None and rng.random() < LABEL_SHARE:
            delay = float(rng.uniform(*LABEL_DELAY_S))
            heapq.heappush(self._late, (t_s + delay, inference_id, digit))
        while self._late and self._late[0][0] <= t_s:
            _, due_id, truth = heapq.heappop(self._late)
            monitor.label(due_id, truth)
            self.labels_sent += 1

    def _infer(
        self,
        model: Classifier,
        pixels: npt.NDArray[np.float32],
        slowdown: float,
        extra_s: float,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Run the model; when throttled, redo the same real work until the call has taken
        ``slowdown`` times as long as one run did, plus ``extra_s`` seconds."""
        started = self._timer()
        result = model.predict(pixels)
        if slowdown > 1.0 or extra_s > 0.0:
            first_done = self._timer()
            until = first_done + (first_done - started) * (slowdown - 1.0) + extra_s
            while self._timer() < until:
                model.predict(pixels)
        return result

    def close(self, timeout_s: float) -> None:
        """Close the Monitor (flushing what it holds within ``timeout_s``); idempotent."""
        with self._lock:
            self._closed = True
            monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.close(timeout_s)

    def status(self) -> DeviceStatus:
        """A snapshot for the progress display."""
        return DeviceStatus(
            device_id=self.spec.device_id,
            fleet=self.spec.fleet,
            hardware=self.spec.hardware,
            version=self._version,
            inferences=self.inferences,
            incidents=self.conditions.active_kinds(self._now()),
            error=self.error,
        )
