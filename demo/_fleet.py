"""The simulated fleet: one thread per device calling ``step()`` at the device's rate, all on
one scenario clock; ``stop()`` ends the threads and closes every Monitor within a deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from edgewatch.collector import Transport
from edgewatch.demo._clock import ScenarioClock
from edgewatch.demo._device import DeviceStatus, MonitorSettings, SimulatedDevice
from edgewatch.demo._model import ModelSet
from edgewatch.demo._monitor import MonitorFactory, collector_monitor
from edgewatch.demo._scenario import Scenario
from edgewatch.demo._transport import HttpTransport

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 60.0


def default_interval_s(speed: float) -> float:
    """Export every scenario minute, but not more often than once a wall second."""
    return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, 60.0 / speed))


def _runtime() -> str:
    import onnxruntime

    return f"onnxruntime-{onnxruntime.__version__}"


class Fleet:
    """Every device of a scenario, each with its own Monitor, spool directory and thread."""

    def __init__(
        self,
        scenario: Scenario,
        models: ModelSet,
        *,
        endpoint: str,
        token: str | None,
        data_dir: str | Path,
        speed: float = 60.0,
        rate_per_s: float | None = None,
        interval_s: float | None = None,
        monitor_factory: MonitorFactory = collector_monitor,
        transport_factory: Callable[[], Transport] = HttpTransport,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self.clock = ScenarioClock(speed, wall)
        self.rate_per_s = scenario.rate_per_s if rate_per_s is None else rate_per_s
        if not self.rate_per_s > 0:
            raise ValueError(f"rate_per_s must be positive, got {self.rate_per_s!r}")
        settings = MonitorSettings(
            endpoint=endpoint,
            token=token,
            interval_s=default_interval_s(speed) if interval_s is None else interval_s,
            data_dir=Path(data_dir),
            runtime=_runtime(),
        )
        self.settings = settings
        self.devices: tuple[SimulatedDevice, ...] = tuple(
            SimulatedDevice(
                spec,
                scenario.incidents_for(spec.device_id),
                models.models,
                models.data,
                settings,
                self.clock.now_s,
                monitor_factory,
                transport_factory,
            )
            for spec in scenario.devices()
        )
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}

    def start(self) -> None:
        """Start the scenario clock, open every Monitor and start every device's thread."""
        if self._threads:
            raise RuntimeError("the fleet is already started")
        self.clock.start()
        for device in self.devices:
            device.open()
        for device in self.devices:
            thread = threading.Thread(
                target=self._run_device, args=(device,), name=device.spec.device_id, daemon=True
            )
            self._threads[device.spec.device_id] = thread
            thread.start()

    def _run_device(self, device: SimulatedDevice) -> None:
        period_s = 1.0 / self.rate_per_s
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                device.step()
            except Exception as e:  # a broken device stops; the others carry on and it is shown
                device.error = f"{type(e).__name__}: {e}"
                log.exception("device %s stopped", device.spec.device_id)
                return
            due += period_s
            now = time.monotonic()
            if due < now - 1.0:  # fell more than a second behind: skip rather than burst
                due = now
            self._stop.wait(max(0.0, due - now))

    @property
    def finished(self) -> bool:
        """True once the scenario's duration has elapsed."""
        return self.clock.now_s() >= self.scenario.duration_s

    def status(self) -> list[DeviceStatus]:
        """A snapshot of every device."""
        return [device.status() for device in self.devices]

    def stop(self, timeout_s: float = 10.0) -> list[str]:
        """Stop every device and close every Monitor (flushing) within ``timeout_s`` in all.
        Returns the device ids that did not finish in time (empty when all closed)."""
        deadline = time.monotonic() + timeout_s
        self._stop.set()
        for thread in self._threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        closers = [
            threading.Thread(
                target=device.close,
                args=(max(0.0, deadline - time.monotonic()),),
                name=f"close-{device.spec.device_id}",
                daemon=True,
            )
            for device in self.devices
        ]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(max(0.0, deadline - time.monotonic()))
        running = {name for name, thread in self._threads.items() if thread.is_alive()}
        return [
            device.spec.device_id
            for device, closer in zip(self.devices, closers, strict=True)
            if device.spec.device_id in running or closer.is_alive()
        ]
