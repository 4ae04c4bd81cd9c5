"""Every page of the dashboard, rendered by ``streamlit.testing`` against a real seeded server:
the numbers and tables a user reads, and the messages when something is wrong."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dashboard_apptest import metrics, open_page, table, texts
from dashboard_fleet import INFERENCES, DeviceSpec
from dashboard_harness import (
    BATCHES_IN_LAST_HOUR,
    DEV_B_CLOCK_BEHIND_S,
    SeededServer,
    send_device,
    send_spec,
    start_empty_server,
    wait_rolled_up,
)
from live_server import free_port
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import collector_body, collector_headers, gauge_metric, resource_attributes

from edgewatch.dashboard import Client
from edgewatch.dashboard._format import seconds
from edgewatch.dashboard._page import ALERTING_OFF, REFRESH_KEY, _newest_report

pytestmark = pytest.mark.timeout(120)


def test_fleet_page_counts_rates_and_latency(dashboard_env: SeededServer) -> None:
    at = open_page("fleet")
    shown = metrics(at)
    assert shown["Devices"] == "6"
    assert (shown["Online"], shown["Stale"], shown["Offline"]) == ("4", "1", "1")
    assert shown["Error rate"] == "1.00 %"
    assert shown["Inference rate"] == f"{BATCHES_IN_LAST_HOUR * INFERENCES / 3600:.3g} /s"
    with Client(dashboard_env.url, dashboard_env.admin) as client:
        end = datetime.now(UTC)
        fleet = client.distribution("ml.inference.duration", end - timedelta(hours=1), end)
    assert fleet is not None
    for q in ("p50", "p95", "p99"):
        assert shown[f"Latency {q}"] == seconds(fleet.quantiles[q])
    assert shown["Latency p50"].endswith(" ms") and 15 <= float(shown["Latency p50"][:-3]) <= 25
    versions = table(at, "version", "share")
    assert dict(zip(versions["version"], versions["share"], strict=True)) == {
        "1.0.0": "66.7 %",
        "1.1.0": "33.3 %",
    }
    assert (shown["Critical"], shown["Warning"]) == ("2", "1")  # dev-e, dev-f offline; f01


def test_fleet_device_table_filters_and_links(dashboard_env: SeededServer) -> None:
    at = open_page("fleet")
    devices = table(at, "device", "status", "last seen")
    assert len(devices) == 6
    assert devices["status"].iloc[0] == "offline"  # problems first
    assert "device?device=dev-a" in set(devices["device"])
    at.multiselect[0].set_value(["offline"]).run()
    only = table(at, "device", "status")
    assert list(only["device"]) == ["device?device=dev-f"]
    assert "1 of 6 devices" in texts(at)
    at.multiselect[0].set_value(["online", "stale", "offline"]).run()
    at.text_input[0].set_value("dev-d").run()
    assert list(table(at, "device", "status")["device"]) == ["device?device=dev-d"]
    assert at.selectbox(key="open_device").value == "dev-d"


def test_device_page_readings_with_units(dashboard_env: SeededServer) -> None:
    at = open_page("device", device="dev-a")
    shown = metrics(at)
    assert shown["Memory (process)"] == "80.0 MiB"
    assert shown["CPU"] == "25.0 %"
    assert shown["Power"] == "4 W"
    assert shown["Energy / inference"] == "400 mJ"
    assert shown["Temperature"] == "55.0 °C"
    assert shown["Battery"] == "80 %"
    page = texts(at)
    assert "dev-a" in page and "classifier 1.0.0" in page
    assert "Shaded" not in page  # dev-a reported every minute
    assert "Lost on device: nothing reported." in page
    assert len(at.get("plotly_chart")) == 8


def test_device_page_says_what_the_device_lost(dashboard_env: SeededServer) -> None:
    at = open_page("device", device="dev-b")
    page = texts(at)
    assert f"Lost on device: **3 batches ({3 * INFERENCES:,} inferences)** — last at 20" in page
    assert f"inferences by reason: spool full {3 * INFERENCES:,}" in page


def test_device_page_shows_a_demo_devices_simulated_cpu_as_simulated(
    empty_server: SeededServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", empty_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", empty_server.admin)
    send_spec(empty_server, DeviceSpec("demo-north-0", simulated=True), range(10))
    wait_rolled_up(empty_server, "demo-north-0")
    at = open_page("device", device="demo-north-0")
    shown = metrics(at)
    assert shown["CPU"] == "25.0 %"  # process CPU, as the demo's simulator sends it
    assert shown["Power source"] == "simulated"
    page = texts(at)
    assert "Simulated, not measured: memory, CPU, power, temperature" in page
    assert "**CPU** (simulated)" in page
    assert "No cpu data in this window" not in page


def test_device_page_without_power_sensor(dashboard_env: SeededServer) -> None:
    at = open_page("device", device="dev-c")
    assert metrics(at)["Power"] == "no power sensor"
    assert "No power sensor on this device" in texts(at)


def test_device_page_clock_skew_and_offline_gap(dashboard_env: SeededServer) -> None:
    at = open_page("device", device="dev-b")
    skew = metrics(at)["Clock skew"]
    assert skew.startswith("-") and skew.endswith(" s")
    assert DEV_B_CLOCK_BEHIND_S <= float(skew[1:-2]) < DEV_B_CLOCK_BEHIND_S + 15
    at = open_page("device", device="dev-d")
    assert "Shaded: 1 span(s) without data" in texts(at)


def test_device_page_unknown_device_says_so(dashboard_env: SeededServer) -> None:
    at = open_page("device", device="no-such-device")
    assert "'no-such-device' is not known to the server" in texts(at)


def test_versions_page_side_by_side(dashboard_env: SeededServer) -> None:
    at = open_page("versions")
    side = table(at, "", "1.0.0", "1.1.0").set_index("")
    assert side.loc["devices"].tolist() == ["4", "2"]
    assert side.loc["error rate"].tolist() == ["1.00 %", "1.00 %"]
    p50_a, p50_b = side.loc["latency p50"].tolist()
    assert p50_a.endswith(" ms") and p50_b.endswith(" ms")
    assert float(p50_a[:-3]) < float(p50_b[:-3])  # 1.1.0 was seeded slower


@pytest.mark.parametrize("page", ["alerts", "settings"])
def test_pages_say_when_alerting_is_switched_off(alerting_off_server, monkeypatch, page) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", alerting_off_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", alerting_off_server.admin)
    at = open_page(page)
    assert [w.value for w in at.warning] == [ALERTING_OFF]
    assert not at.error


def test_fleet_and_device_work_with_alerting_switched_off(alerting_off_server, monkeypatch):
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", alerting_off_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", alerting_off_server.admin)
    at = open_page("fleet")
    assert metrics(at)["Devices"] == "1"
    assert "No alerts to show: this server has no alerting" in texts(at)
    at = open_page("device", device="dev-a")
    assert metrics(at)["Power"] == "4 W"
    assert not at.error


def test_settings_page_lists_tokens_without_secrets(dashboard_env: SeededServer) -> None:
    at = open_page("settings")
    tokens = table(at, "role", "device", "state")
    assert {"admin", "device"} == set(tokens["role"])
    assert dashboard_env.admin not in tokens.to_string()


def test_server_down_shows_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", "whatever")
    for page in ("fleet", "device", "alerts", "settings"):
        at = open_page(page)
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith("Server unreachable: cannot reach")


def test_wrong_token_shows_a_message(seeded_server, monkeypatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", seeded_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", "wrong-token")
    at = open_page("fleet")
    assert [e.value for e in at.error] == [
        f"Access denied: the server at {seeded_server.url} refused the token (invalid or "
        "revoked token). Pass an admin token: create one with `edgewatch token create --admin`."
    ]


def test_not_configured_says_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEWATCH_DASHBOARD_SERVER", raising=False)
    at = open_page("fleet")
    assert "EDGEWATCH_DASHBOARD_SERVER is not set" in at.error[0].value
    assert "edgewatch dashboard --server URL --token ADMIN_TOKEN" in at.error[0].value


def test_empty_fleet_says_what_to_do(empty_server: SeededServer, monkeypatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", empty_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", empty_server.admin)
    for page in ("fleet", "device", "drift", "versions"):
        at = open_page(page)
        info = [i.value for i in at.info]
        assert len(info) == 1 and f"{empty_server.url}/v1/metrics" in info[0], info
    assert "run `edgewatch demo`" in open_page("fleet").info[0].value


def test_time_range_and_auto_refresh_controls(dashboard_env: SeededServer) -> None:
    at = open_page("fleet")
    at.sidebar.selectbox[0].set_value(7 * 86_400.0).run()
    # dev-f, the first device the server saw, reported 2 h ago: rates count over that, not 7 d
    assert "Over the last 7 d; rates over the 2 h the devices have reported." in texts(at)
    assert metrics(at)["Devices"] == "6"
    at.sidebar.toggle[0].set_value(True).run()
    assert not at.sidebar.selectbox[1].disabled
    assert not at.exception


def test_auto_refresh_is_on_while_devices_report(
    empty_server: SeededServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", empty_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", empty_server.admin)
    at = open_page("fleet")
    assert at.sidebar.toggle(key=REFRESH_KEY).value is False  # nothing reports: nothing to follow
    assert "No device data yet." in [c.value for c in at.sidebar.caption]
    send_device(empty_server, "dev-a")
    _newest_report.clear()
    at = open_page("fleet")
    assert at.sidebar.toggle(key=REFRESH_KEY).value is True
    assert not at.sidebar.selectbox[1].disabled
    assert any(c.value.endswith("(live).") for c in at.sidebar.caption)
    at.sidebar.toggle(key=REFRESH_KEY).set_value(False).run()
    at.run()  # the user's choice outlives the next refresh
    assert at.sidebar.toggle(key=REFRESH_KEY).value is False


def test_every_page_says_when_the_servers_rules_run_scaled(
    tmp_path: Path, empty_server: SeededServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_empty_server(tmp_path / "demo.duckdb", alerting=True, rule_time_scale=60.0)
    try:
        monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", running.seeded.url)
        monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", running.seeded.admin)
        for page in ("fleet", "alerts"):
            assert "demo: rule windows scaled to 60x" in texts(open_page(page))
    finally:
        running.stop()
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", empty_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", empty_server.admin)
    assert "rule windows scaled" not in texts(open_page("fleet"))


def test_fleet_latency_names_a_device_sending_it_as_a_gauge(
    empty_server: SeededServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", empty_server.url)
    monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", empty_server.admin)
    send_device(empty_server, "dev-a")
    now_ns = time.time_ns()
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes("dev-z"))
    rm.scope_metrics.add().metrics.append(
        gauge_metric("ml.inference.duration", "s", [(0.5, ())], now_ns - 60 * 10**9, now_ns)
    )
    with empty_server.api() as api:
        token = api.post("/api/v1/tokens", json={"role": "device", "device_id": "dev-z"})
        r = api.post(
            "/v1/metrics",
            content=collector_body(request),
            headers=collector_headers(token.json()["token"]),
        )
        assert r.status_code == 200, r.text
    at = open_page("fleet")
    assert "Latency leaves out dev-z: sending ml.inference.duration as a gauge" in texts(at)
    assert metrics(at)["Latency p50"].endswith(" ms")
