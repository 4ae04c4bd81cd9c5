"""Fixtures for the demo tests: the trained models (once per session) and a recording Monitor.

``monitor_recorder`` runs each fleet test twice: with a pure recording double of the Monitor,
and with the same recorder spying on a real ``edgewatch.collector.Monitor`` (skipped while the
collector has no Monitor), so the fleet's assertions hold for both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_doubles import MonitorRecorder, has_real_monitor

from edgewatch.demo import ModelSet, load_models


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelSet:
    return load_models(tmp_path_factory.mktemp("models"), seed=7)


@pytest.fixture(params=["double", "collector"])
def monitor_recorder(request: pytest.FixtureRequest) -> MonitorRecorder:
    if request.param == "collector" and not has_real_monitor():
        pytest.skip("edgewatch.collector.Monitor is not in this tree yet; the double runs alone")
    return MonitorRecorder(real=request.param == "collector")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
