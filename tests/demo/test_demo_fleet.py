"""Devices and the fleet runner, on a recording Monitor (and on the real collector Monitor once
it exists): ids and labels, real inferences observed, version switches, clean stops."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from demo_doubles import UNREACHABLE, MonitorRecorder

from edgewatch.collector import semconv
from edgewatch.demo import (
    CLASSES,
    FEATURE_NAMES,
    SIMULATED_ATTRIBUTE,
    V1,
    V2,
    V2_BAD,
    FailingTransport,
    Fleet,
    Incident,
    ModelSet,
    MonitorSettings,
    SimulatedDevice,
    default_interval_s,
    parse_scenario,
)
from edgewatch.demo._scenario import DeviceSpec

SCENARIO = {
    "name": "fleet-test",
    "duration": "1h",
    "devices": {
        "count": 4,
        "fleets": ["east", "west"],
        "hardware": ["rpi4", "x86-gateway"],
        "v2_fraction": 0.5,
        "rate_per_s": 40,
    },
    "incidents": [{"kind": "offline", "devices": ["demo-west-0"], "start": 0}],
}


def settings(data_dir: Path) -> MonitorSettings:
    return MonitorSettings(endpoint=UNREACHABLE, token="t0k", interval_s=1.0, data_dir=data_dir)


def spec(version: str = V1) -> DeviceSpec:
    return DeviceSpec(0, "demo-east-0", "east", "rpi4", version, seed=11)


def device(
    models: ModelSet,
    recorder: MonitorRecorder,
    data_dir: Path,
    incidents: tuple[Incident, ...] = (),
    now: list[float] | None = None,
    **kwargs: Any,
) -> SimulatedDevice:
    clock = now if now is not None else [0.0]
    return SimulatedDevice(
        spec(),
        incidents,
        kwargs.pop("model_map", models.models),
        models.data,
        settings(data_dir),
        lambda: clock[0],
        recorder,
        lambda: FailingTransport(_Unused(), lambda: True),
        **kwargs,
    )


class _Unused:
    def post(self, *args: Any) -> Any:
        raise AssertionError("the network is not used in this test")


def test_a_device_observes_real_predictions(models: ModelSet, data_dir: Path) -> None:
    recorder = MonitorRecorder()
    dev = device(models, recorder, data_dir)
    dev.open()
    for _ in range(30):
        dev.step()
    dev.close(1.0)
    (monitor,) = recorder.monitors
    assert dev.inferences == 30 and len(monitor.observed) == 30 and monitor.closed
    rows = np.stack([o.row for o in monitor.observed])
    labels, scores = models[V1].predict(rows)
    assert [o.prediction for o in monitor.observed] == labels.tolist()
    np.testing.assert_allclose([o.score for o in monitor.observed], scores, rtol=1e-6)
    assert all(isinstance(o.prediction, int) for o in monitor.observed)


def test_a_device_monitor_gets_its_identity_and_simulated_samplers(
    models: ModelSet, data_dir: Path
) -> None:
    recorder = MonitorRecorder()
    dev = device(models, recorder, data_dir)
    dev.open()
    dev.close(1.0)
    (monitor,) = recorder.monitors
    kw = monitor.kwargs
    assert (monitor.model_name, monitor.model_version) == ("digits", V1)
    assert kw["device_id"] == "demo-east-0" and kw["fleet"] == "east" and kw["hardware"] == "rpi4"
    assert kw["endpoint"] == UNREACHABLE and kw["token"] == "t0k" and kw["interval_s"] == 1.0
    assert kw["features"] == list(FEATURE_NAMES) and kw["classes"] == list(CLASSES)
    assert Path(kw["spool_dir"]) == data_dir / "spool" / "demo-east-0"
    assert kw["resource_attributes"][semconv.POWER_SOURCES] == semconv.POWER_SIMULATED
    assert kw["resource_attributes"][SIMULATED_ATTRIBUTE] == "true"
    assert {s.name for s in kw["samplers"]} == {
        "simulated-power",
        "simulated-memory",
        "simulated-cpu",
        "simulated-temperature",
    }
    assert kw["transport"] is None


class _CountingModel:
    """Wraps a model; each call advances a fake timer by 1 ms, as if inference took 1 ms."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def timer(self) -> float:
        return self.calls * 0.001

    def predict(self, x: npt.ArrayLike) -> Any:
        self.calls += 1
        return self.inner.predict(x)


def test_latency_regression_repeats_the_real_work(models: ModelSet, data_dir: Path) -> None:
    counting = _CountingModel(models[V1])
    now = [0.0]
    slow = Incident("latency_regression", ("demo-east-0",), 100.0, 200.0, {"slowdown": 4.0})
    dev = device(
        models,
        MonitorRecorder(),
        data_dir,
        (slow,),
        now,
        model_map={V1: counting},
        timer=counting.timer,
    )
    dev.open()
    for t, runs in ((50.0, 1), (150.0, 4), (250.0, 1)):
        now[0] = t
        before = counting.calls
        dev.step()
        assert counting.calls - before == runs
    dev.close(1.0)


def test_latency_regression_extra_work_is_real_work_measured_by_the_timer(
    models: ModelSet, data_dir: Path
) -> None:
    counting = _CountingModel(models[V1])  # every run advances its timer by 1 ms
    recorder = MonitorRecorder()
    now = [150.0]
    slow = Incident("latency_regression", ("demo-east-0",), 100.0, 200.0, {"extra_ms": 8.0})
    dev = device(
        models, recorder, data_dir, (slow,), now, model_map={V1: counting}, timer=counting.timer
    )
    dev.open()
    dev.step()
    dev.close(1.0)
    assert counting.calls == 9  # the inference, then 8 ms of runs of the same model
    assert [o.latency_s for o in recorder.monitors[0].observed] == [pytest.approx(0.009)]


def test_a_bad_rollout_switches_the_monitor_to_v2_1_and_back(
    models: ModelSet, data_dir: Path
) -> None:
    recorder = MonitorRecorder()
    now = [0.0]
    rollout = Incident("bad_rollout", ("demo-east-0",), 100.0, 200.0)
    dev = device(models, recorder, data_dir, (rollout,), now)
    dev.open()
    for t in (10.0, 20.0, 110.0, 120.0, 130.0, 210.0):
        now[0] = t
        dev.step()
    dev.close(1.0)
    versions = [(m.model_version, len(m.observed)) for m in recorder.monitors]
    assert versions == [(V1, 2), (V2_BAD, 3), (V1, 1)]
    assert all(m.closed for m in recorder.monitors)
    bad_rows = np.stack([o.row for o in recorder.monitors[1].observed])
    assert [o.prediction for o in recorder.monitors[1].observed] == (
        models[V2_BAD].predict(bad_rows)[0].tolist()
    )


def test_an_offline_incident_gives_the_device_a_failing_transport(
    models: ModelSet, data_dir: Path
) -> None:
    recorder = MonitorRecorder()
    dev = device(models, recorder, data_dir, (Incident("offline", ("demo-east-0",), 0.0, 10.0),))
    dev.open()
    dev.close(1.0)
    assert isinstance(recorder.monitors[0].kwargs["transport"], FailingTransport)


def test_a_closed_device_stops_observing(models: ModelSet, data_dir: Path) -> None:
    recorder = MonitorRecorder()
    dev = device(models, recorder, data_dir)
    dev.open()
    dev.close(1.0)
    dev.close(1.0)
    dev.step()
    assert dev.inferences == 0 and len(recorder.monitors) == 1


def test_interval_is_short_at_high_speed() -> None:
    assert default_interval_s(1.0) == 60.0
    assert default_interval_s(6.0) == 10.0
    assert default_interval_s(600.0) == 1.0


def _wait_for(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_the_fleet_runs_every_device_and_stops_cleanly(
    models: ModelSet, monitor_recorder: MonitorRecorder, data_dir: Path
) -> None:
    scenario = parse_scenario(SCENARIO, "fleet.yaml")
    fleet = Fleet(
        scenario,
        models,
        endpoint=UNREACHABLE,
        token="t0k",
        data_dir=data_dir,
        speed=60.0,
        monitor_factory=monitor_recorder,
    )
    fleet.start()
    try:
        _wait_for(lambda: all(d.inferences >= 5 for d in fleet.devices))
    finally:
        late = fleet.stop(timeout_s=10.0)
    assert late == []
    assert {m.kwargs["device_id"] for m in monitor_recorder.monitors} == {
        "demo-east-0",
        "demo-west-0",
        "demo-east-1",
        "demo-west-1",
    }
    by_id = {m.kwargs["device_id"]: m for m in monitor_recorder.monitors}
    assert by_id["demo-west-0"].kwargs["hardware"] == "x86-gateway"
    assert by_id["demo-east-1"].kwargs["fleet"] == "east"
    assert [by_id[d.spec.device_id].model_version for d in fleet.devices] == [V1, V2, V1, V2]
    assert isinstance(by_id["demo-west-0"].kwargs["transport"], FailingTransport)
    assert by_id["demo-east-0"].kwargs["transport"] is None
    for dev in fleet.devices:
        monitor = by_id[dev.spec.device_id]
        assert monitor.closed
        assert len(monitor.observed) == dev.inferences >= 5
        assert Path(monitor.kwargs["spool_dir"]).parent == data_dir / "spool"
    assert not [t for t in threading.enumerate() if t.name.startswith("demo-")]
    statuses = {s.device_id: s for s in fleet.status()}
    assert statuses["demo-west-0"].incidents == ("offline",)
    assert statuses["demo-east-0"].incidents == () and statuses["demo-east-0"].error is None


class _StuckMonitor:
    """A Monitor whose close never returns until released."""

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def observe(self, row: Any) -> Any:
        raise AssertionError("not used")

    def close(self, timeout_s: float = 5.0) -> None:
        self._release.wait(30)


def test_stop_reports_devices_that_did_not_close_in_time(models: ModelSet, data_dir: Path) -> None:
    release = threading.Event()
    scenario = parse_scenario({**SCENARIO, "incidents": []})
    fleet = Fleet(
        scenario,
        models,
        endpoint=UNREACHABLE,
        token=None,
        data_dir=data_dir,
        monitor_factory=lambda *a, **k: _StuckMonitor(release),
    )
    for dev in fleet.devices:
        dev.open()
    try:
        assert sorted(fleet.stop(timeout_s=0.2)) == sorted(d.spec.device_id for d in fleet.devices)
    finally:
        release.set()
    _wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("close-")])


def test_a_device_that_breaks_is_reported_and_the_others_carry_on(
    models: ModelSet, data_dir: Path
) -> None:
    recorder = MonitorRecorder()
    scenario = parse_scenario({**SCENARIO, "incidents": []})
    fleet = Fleet(
        scenario,
        models,
        endpoint=UNREACHABLE,
        token=None,
        data_dir=data_dir,
        monitor_factory=recorder,
    )
    broken = fleet.devices[0]

    def fail() -> None:
        raise RuntimeError("camera unplugged")

    broken.step = fail  # type: ignore[method-assign]
    fleet.start()
    try:
        _wait_for(lambda: all(d.inferences >= 3 for d in fleet.devices[1:]))
        _wait_for(lambda: broken.error is not None)
    finally:
        assert fleet.stop(timeout_s=10.0) == []
    assert broken.status().error == "RuntimeError: camera unplugged"


def test_a_fleet_starts_only_once(models: ModelSet, data_dir: Path) -> None:
    fleet = Fleet(
        parse_scenario({**SCENARIO, "incidents": []}),
        models,
        endpoint=UNREACHABLE,
        token=None,
        data_dir=data_dir,
        rate_per_s=1.0,
        monitor_factory=MonitorRecorder(),
    )
    fleet.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            fleet.start()
    finally:
        assert fleet.stop(timeout_s=10.0) == []


def test_a_device_sends_late_labels_that_its_real_monitor_joins(
    models: ModelSet, data_dir: Path
) -> None:
    recorder = MonitorRecorder(real=True)
    now = [0.0]
    dev = device(models, recorder, data_dir, now=now)
    dev.open()
    for k in range(300):
        now[0] = k * 5.0  # 25 scenario minutes: every label delay has passed for the first ones
        dev.step()
    (monitor,) = recorder.monitors
    stats = monitor.inner.stats() if monitor.inner is not None else {}  # type: ignore[attr-defined]
    dev.close(1.0)
    assert 0 < dev.labels_sent == len(monitor.labelled) < 300 * 0.5
    ids = {i for i, _ in monitor.labelled}
    assert len(ids) == len(monitor.labelled)  # each inference labelled once
    assert not any(key.startswith("labels.unmatched") for key in stats)
