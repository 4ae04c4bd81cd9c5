"""The packaged default scenario, run through the fleet at high speed: each incident shows on
its own device, in its own window, and the healthy devices look like the test data throughout."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from demo_doubles import UNREACHABLE, MonitorRecorder, Observed

from edgewatch.demo import V1, V2, V2_BAD, Fleet, ModelSet, load_scenario

SPEED = 1800.0
"""The two scenario hours in four wall seconds."""
MARGIN_S = 300.0
"""Observations this close to a window's edge are left out: thread scheduling blurs edges."""
HEALTHY = (
    "demo-south-2",
    "demo-north-1",
    "demo-north-2",
    "demo-north-3",
    "demo-south-4",
    "demo-south-5",
    "demo-south-6",
)


@dataclass(frozen=True)
class Run:
    observed: dict[str, list[Observed]]
    """Every observation of each device, over all its Monitors."""
    versions: dict[str, list[str]]
    """The model version of each Monitor a device opened, in order."""


@pytest.fixture(scope="module")
def run(models: ModelSet, tmp_path_factory: pytest.TempPathFactory) -> Run:
    recorder = MonitorRecorder()
    fleet = Fleet(
        load_scenario(),
        models,
        endpoint=UNREACHABLE,
        token=None,
        data_dir=Path(tmp_path_factory.mktemp("default-scenario")),
        speed=SPEED,
        rate_per_s=40.0,
        monitor_factory=recorder,
    )
    recorder.clock = fleet.clock.now_s
    fleet.start()
    try:
        while not fleet.finished:
            time.sleep(0.1)
    finally:
        assert fleet.stop(timeout_s=10.0) == []
    assert all(d.error is None for d in fleet.devices)
    ids = [d.spec.device_id for d in fleet.devices]
    return Run(
        observed={i: [o for m in recorder.for_device(i) for o in m.observed] for i in ids},
        versions={i: [m.model_version for m in recorder.for_device(i)] for i in ids},
    )


def window(observed: list[Observed], start_min: float, end_min: float) -> list[Observed]:
    return [o for o in observed if start_min * 60 + MARGIN_S <= o.t_s < end_min * 60 - MARGIN_S]


def mean_pixel(observed: list[Observed]) -> float:
    return float(np.mean([o.row.mean() for o in observed]))


def mean_score(observed: list[Observed]) -> float:
    return float(np.mean([o.score for o in observed]))


def test_every_device_ran_the_whole_scenario(run: Run) -> None:
    assert len(run.observed) == 14
    for device_id, observed in run.observed.items():
        assert len(window(observed, 0, 120)) >= 20, device_id


def test_healthy_devices_look_like_the_test_data_throughout(run: Run, models: ModelSet) -> None:
    test_mean = float(models.data.test_x.mean())
    for device_id in HEALTHY:
        observed = window(run.observed[device_id], 0, 120)
        assert abs(mean_pixel(observed) - test_mean) < 0.6, device_id
        assert mean_score(observed) > 0.9, device_id
        assert len(run.versions[device_id]) == 1


def test_sensor_drift_brightens_its_device_after_the_ramp(run: Run) -> None:
    before = window(run.observed["demo-north-0"], 0, 20)
    after = window(run.observed["demo-north-0"], 30, 120)
    assert mean_pixel(after) - mean_pixel(before) > 2.5


def test_unseen_digits_lower_confidence_only_in_their_window(
    run: Run,
) -> None:
    observed = run.observed["demo-north-4"]
    during = mean_score(window(observed, 30, 90))
    assert mean_score(window(observed, 0, 30)) - during > 0.05
    assert mean_score(window(observed, 90, 120)) - during > 0.05


def test_the_bad_rollout_runs_v2_1_past_the_scenarios_two_hours(run: Run) -> None:
    """v2.1 stays until 10h (rolled back at ten wall minutes in ``up``), long enough for the
    rollout gate's evidence; the v2 devices keep v2 throughout."""
    assert run.versions["demo-north-5"] == [V1, V2_BAD]
    for device_id in ("demo-north-1", "demo-north-2", "demo-north-3", "demo-south-4"):
        assert run.versions[device_id] == [V2], device_id
