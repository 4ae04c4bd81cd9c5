"""``python -m edgewatch.demo``: clear messages and exit status 2 for bad arguments, a full
short run, and a clean stop on SIGTERM."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_doubles import UNREACHABLE, MonitorRecorder
from rich.console import Console

from edgewatch.demo import V1, V2_BAD, DeviceStatus, ModelSet, main
from edgewatch.demo._progress import render, summary_line

SMALL = {
    "name": "cli-test",
    "duration": "10m",
    "devices": {"count": 3, "fleets": ["lab"], "rate_per_s": 20},
    "incidents": [{"kind": "power_increase", "devices": ["demo-lab-2"], "start": 0, "factor": 2}],
}


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def args(scenario_file: Path, data_dir: Path, *extra: str) -> list[str]:
    return [
        "--server",
        UNREACHABLE,
        "--token",
        "t0k",
        "--scenario",
        str(scenario_file),
        "--data-dir",
        str(data_dir),
        *extra,
    ]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (["--server", "localhost:8000"], "argument --server: 'localhost:8000' is not a server URL"),
        (["--server", "http://h:99999"], "argument --server: 'http://h:99999' has an invalid port"),
        (["--devices", "0"], "argument --devices: 0 is out of range (1 .. 1000)"),
        (["--devices", "many"], "argument --devices: 'many' is not a whole number"),
        (["--speed", "0"], "argument --speed: 0 is out of range"),
        (["--speed", "fast"], "argument --speed: 'fast' is not a number"),
        (["--duration", "-5"], "argument --duration: '-5': the duration must be positive"),
        (["--duration", "0"], "argument --duration: '0': the duration must be positive"),
        (["--duration", "ten minutes"], "argument --duration: 'ten minutes' is not a duration"),
        (["--rate", "-1"], "argument --rate: -1 is out of range"),
        (["--stop-timeout", "0"], "argument --stop-timeout: 0 is out of range"),
        (["--devices", "2"], "small.yaml: incidents[0].devices: no device demo-lab-2"),
        (["--colour", "red"], "unrecognized arguments: --colour red"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    bad: list[str],
    expected: str,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args(scenario_file, tmp_path / "data", *bad), monitor_factory=MonitorRecorder())
    assert caught.value.code == 2
    assert expected in capsys.readouterr().err


def test_a_missing_server_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([], monitor_factory=MonitorRecorder())
    assert caught.value.code == 2
    assert "the following arguments are required: --server" in capsys.readouterr().err


def test_a_broken_scenario_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**SMALL, "duration": "soon"}))
    with pytest.raises(SystemExit) as caught:
        main(args(broken, tmp_path / "data"), monitor_factory=MonitorRecorder())
    assert caught.value.code == 2
    assert "broken.yaml: duration: 'soon' is not a duration" in capsys.readouterr().err


def test_an_unusable_data_dir_is_a_usage_error(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as caught:
        main(args(scenario_file, blocker / "data"), monitor_factory=MonitorRecorder())
    assert caught.value.code == 2
    assert "--data-dir" in capsys.readouterr().err


def test_an_unusable_models_dir_is_a_usage_error(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as caught:
        main(
            args(scenario_file, tmp_path / "data", "--models-dir", str(blocker / "models")),
            monitor_factory=MonitorRecorder(),
        )
    assert caught.value.code == 2
    assert f"--models-dir {blocker / 'models'}: cannot cache the models there" in (
        capsys.readouterr().err
    )


def test_the_module_entry_point_reports_bad_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgewatch.demo", "--server", UNREACHABLE, "--devices", "-3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "argument --devices: -3 is out of range" in result.stderr


def test_a_short_run_drives_every_device_and_closes_every_monitor(
    scenario_file: Path, tmp_path: Path, models: ModelSet
) -> None:
    cache = tmp_path / "data" / "models"
    shutil.copytree(models[V1].path.parent, cache)
    cached = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    recorder = MonitorRecorder()
    out = io.StringIO()
    status = main(
        args(scenario_file, tmp_path / "data", "--speed", "600", "--duration", "5m"),
        monitor_factory=recorder,
        console=Console(file=out, width=120),
    )
    assert status == 0
    assert [m.kwargs["device_id"] for m in recorder.monitors] == [
        "demo-lab-0",
        "demo-lab-1",
        "demo-lab-2",
    ]
    assert all(m.closed and len(m.observed) > 0 for m in recorder.monitors)
    assert all(m.kwargs["interval_s"] == 1.0 for m in recorder.monitors)
    text = out.getvalue()
    assert "3 devices → http://127.0.0.1:9" in text
    assert "3 devices," in text and "inferences" in text
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == cached  # DATA_DIR/models is used


def test_sigterm_stops_the_fleet_and_closes_every_monitor(
    scenario_file: Path, tmp_path: Path, models: ModelSet
) -> None:
    recorder = MonitorRecorder()

    def terminate_once_running() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(recorder.monitors) == 3 and all(m.observed for m in recorder.monitors):
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.05)

    models_dir = str(models[V1].path.parent)
    killer = threading.Thread(target=terminate_once_running)
    killer.start()
    before = signal.getsignal(signal.SIGTERM)
    try:
        status = main(
            args(scenario_file, tmp_path / "data", "--speed", "1", "--models-dir", models_dir),
            monitor_factory=recorder,
            console=Console(file=io.StringIO()),
        )
    finally:
        killer.join()
    assert status == 0
    assert all(m.closed for m in recorder.monitors)
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_monitor_that_refuses_its_settings_ends_the_run_with_a_message(
    scenario_file: Path, tmp_path: Path, models: ModelSet
) -> None:
    opened = MonitorRecorder()

    def refusing(model_name: str, model_version: str, **kwargs: Any) -> Any:
        if kwargs["device_id"] == "demo-lab-1":
            raise ValueError("spool_dir is not writable")
        return opened(model_name, model_version, **kwargs)

    out = io.StringIO()
    status = main(
        args(scenario_file, tmp_path / "data", "--models-dir", str(models[V1].path.parent)),
        monitor_factory=refusing,
        console=Console(file=out, width=200),
    )
    assert status == 1
    assert "could not start the fleet: ValueError: spool_dir is not writable" in out.getvalue()
    assert [m.kwargs["device_id"] for m in opened.monitors] == ["demo-lab-0"]
    assert opened.monitors[0].closed


def test_forever_keeps_running_past_the_scenario_until_stopped(
    scenario_file: Path, tmp_path: Path, models: ModelSet
) -> None:
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    out = io.StringIO()
    try:
        status = main(
            args(
                scenario_file,
                tmp_path / "data",
                *("--speed", "600", "--duration", "1m", "--forever"),
                *("--models-dir", str(models[V1].path.parent)),
            ),
            monitor_factory=MonitorRecorder(),
            console=Console(file=out, width=200),
            stop=stop,
        )
    finally:
        timer.join()
    assert status == 0
    (clock,) = re.findall(r"scenario (\d+):(\d\d):(\d\d) of 0:01:00:", out.getvalue())
    hours, minutes, seconds = map(int, clock)
    assert hours * 3600 + minutes * 60 + seconds > 60


def test_the_progress_table_shows_devices_incidents_and_says_simulated() -> None:
    statuses = [
        DeviceStatus("demo-lab-0", "lab", "rpi4", V1, 42, (), None),
        DeviceStatus("demo-lab-1", "lab", "rpi4", V2_BAD, 7, ("bad_rollout",), None),
        DeviceStatus("demo-lab-2", "lab", "rpi4", V1, 3, (), "RuntimeError: boom"),
    ]
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(render(statuses, 4000.0, 7200.0, 60.0))
    text = console.export_text()
    assert "1:06:40 of 2:00:00 at 60×" in text and "simulated" in text
    assert re.search(r"demo-lab-1 .* v2\.1 .* 7 .* bad_rollout", text)
    assert "stopped: RuntimeError: boom" in text
    assert summary_line(statuses, 4000.0, 7200.0) == (
        "scenario 1:06:40 of 2:00:00: 3 devices, 52 inferences, 1 with incidents, 1 stopped"
    )
