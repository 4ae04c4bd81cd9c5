"""The Performance page against a real seeded server (scores, no labels yet): it renders, says
what is missing, and the client parses ``/api/v1/performance``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dashboard_apptest import metrics, texts
from dashboard_harness import APP, SeededServer
from streamlit.testing.v1 import AppTest

from edgewatch.dashboard import Client
from edgewatch.dashboard._format import DASH

pytestmark = pytest.mark.timeout(120)


def test_performance_page_without_labels(dashboard_env: SeededServer) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("_performance_page.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = metrics(at)
    assert shown["Realized accuracy"] == DASH
    assert shown["Labelled"].startswith("0 of ")
    assert "No labelled predictions in this window." in texts(at)
    assert "upload a baseline with prediction, score and label columns" in texts(at)


def test_client_parses_the_performance_answer(dashboard_env: SeededServer) -> None:
    end = datetime.now(UTC)
    with Client(dashboard_env.url, dashboard_env.admin) as client:
        perf = client.performance(end - timedelta(hours=1), end, step_s=600)
    assert perf.task == "none"
    assert len(perf.series) == 6
    assert perf.total.inferences > 0 and perf.total.labelled == 0
    assert perf.total.realized is None and perf.total.estimated is None
