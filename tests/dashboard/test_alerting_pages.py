"""The Alerts, Drift, Versions and Settings pages against a real server whose own scheduler
raised the alerts: what they show, and that acknowledging, silencing and expiring a silence
reach the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_apptest import metrics, open_page, table, texts
from dashboard_harness import APP, SeededServer, send_device, start_empty_server
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button, TextInput

pytestmark = pytest.mark.timeout(120)


def _alert(server: SeededServer, rule: str, **labels: str) -> dict:
    with server.api() as api:
        alerts = api.get("/api/v1/alerts", params={"state": "firing"}).json()["alerts"]
    return next(
        a
        for a in alerts
        if a["rule"] == rule and all(a["labels"].get(k) == v for k, v in labels.items())
    )


def _pick(at: AppTest, fingerprint: str) -> AppTest:
    at.selectbox(key="alert_pick").set_value(fingerprint).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _field(at: AppTest, label: str) -> TextInput:
    return next(t for t in at.text_input if t.label == label)


def _button(at: AppTest, label: str) -> Button:
    return next(b for b in at.button if b.label == label)


def test_alerts_page_lists_firing_alerts_with_evidence(dashboard_env: SeededServer) -> None:
    at = open_page("alerts")
    listed = table(at, "state", "severity", "alert", "summary")
    assert set(listed["state"]) == {"firing"}
    assert {"DeviceOffline", "FeatureDrift"} <= set(listed["alert"])
    assert "dev-f stopped reporting" in set(listed["summary"])
    drift = _alert(dashboard_env, "FeatureDrift", version="1.1.0", feature="f01")
    at = _pick(at, drift["fingerprint"])
    assert "Feature f01 drifted on classifier 1.1.0" in texts(at)
    evidence = table(at, "detector", "method", "score", "p-value", "threshold", "verdict")
    assert evidence.iloc[0][["method", "threshold", "verdict"]].tolist() == ["psi", "0.2", "drift"]
    assert float(evidence.iloc[0]["score"]) > 0.2
    assert evidence.iloc[0]["p-value"] == "—"  # PSI is a distance, not a test
    assert evidence.iloc[0]["detector"] and "→" in evidence.iloc[0]["window"]
    assert evidence.iloc[0]["baseline"].startswith("upload · 3000 rows · created ")
    assert [p.proto.page for p in at.get("page_link") if "1.1.0" in p.proto.label]
    labels = table(at, "label", "value")
    assert dict(zip(labels["label"], labels["value"], strict=True))["feature"] == "f01"


def test_filters_narrow_the_list(dashboard_env: SeededServer) -> None:
    at = open_page("alerts")
    at.multiselect[1].set_value(["critical"]).run()
    listed = table(at, "state", "severity", "alert")
    assert set(listed["severity"]) == {"critical"} and set(listed["alert"]) == {"DeviceOffline"}
    _field(at, "Device").set_value("dev-f").run()
    assert list(table(at, "state", "device")["device"]) == ["dev-f"]


def test_acknowledge_reaches_the_api(dashboard_env: SeededServer) -> None:
    drift = _alert(dashboard_env, "FeatureDrift", version="1.1.0", feature="f01")
    at = _pick(open_page("alerts"), drift["fingerprint"])
    _field(at, "Your name").set_value("alice")
    _field(at, "Comment").set_value("retraining on new sensor data")
    _button(at, "Acknowledge").click().run()
    assert not at.exception
    assert any("Acknowledged by alice" in s.value for s in at.success)
    with dashboard_env.api() as api:
        ack = api.get(f"/api/v1/alerts/{drift['fingerprint']}").json()["ack"]
    assert (ack["author"], ack["comment"]) == ("alice", "retraining on new sensor data")


def test_silence_with_prefilled_matchers_then_expire_it(dashboard_env: SeededServer) -> None:
    offline = _alert(dashboard_env, "DeviceOffline", device="dev-e")
    at = _pick(open_page("alerts"), offline["fingerprint"])
    _field(at, "Created by").set_value("bob")
    _field(at, "Comment (why)").set_value("device in repair")
    _button(at, "Silence").click().run()
    assert not at.exception
    assert any(s.value.startswith("Silence ") for s in at.success)
    with dashboard_env.api() as api:
        silences = api.get("/api/v1/silences").json()["silences"]
        (silence,) = [s for s in silences if s["created_by"] == "bob"]
        assert silence["status"] == "active" and silence["comment"] == "device in repair"
        matchers = {m["name"]: m["value"] for m in silence["matchers"]}
        assert matchers == offline["labels"]  # every label of the alert, prefilled
        silenced = api.get(f"/api/v1/alerts/{offline['fingerprint']}").json()
        assert silenced["silenced_by"] == [silence["id"]]

    at = open_page("alerts")
    shown = table(at, "id", "status", "matchers")
    assert 'device="dev-e"' in shown.set_index("id").loc[silence["id"], "matchers"]
    at.selectbox(key="expire_pick").set_value(silence["id"]).run()
    _button(at, "Expire silence").click().run()
    assert any(f"Silence {silence['id']} is now expired" in s.value for s in at.success)
    with dashboard_env.api() as api:
        (after,) = [
            s for s in api.get("/api/v1/silences").json()["silences"] if s["id"] == silence["id"]
        ]
    assert after["status"] == "expired"


def test_alert_link_opens_that_alert(dashboard_env: SeededServer) -> None:
    offline = _alert(dashboard_env, "DeviceOffline", device="dev-f")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["alert"] = offline["fingerprint"]
    at.run()
    assert not at.exception
    assert at.selectbox(key="alert_pick").value == offline["fingerprint"]
    assert "dev-f stopped reporting" in texts(at)


def test_fleet_page_lists_what_fires_now_leading_to_evidence_and_subject(
    dashboard_env: SeededServer,
) -> None:
    offline = _alert(dashboard_env, "DeviceOffline", device="dev-f")
    drift = _alert(dashboard_env, "FeatureDrift", version="1.1.0", feature="f01")
    at = open_page("fleet")
    assert at.subheader[0].value == "Firing now"  # at the top of the page
    assert metrics(at)["Critical"] == "2"
    firing = table(at, "severity", "alert", "on", "since", "evidence")
    assert list(firing["severity"])[:2] == ["critical", "critical"]  # most urgent first
    rows = firing.set_index("evidence")
    dev_f = rows.loc[f"alerts?alert={offline['fingerprint']}"]
    assert (dev_f["alert"], dev_f["summary"]) == ("DeviceOffline", "dev-f stopped reporting")
    assert dev_f["on"] == "device?device=dev-f" and dev_f["since"].endswith("ago")
    f01 = rows.loc[f"alerts?alert={drift['fingerprint']}"]
    assert f01["on"] == "versions?model=classifier&version=1.1.0"
    at.selectbox(key="open_alert").set_value(offline["fingerprint"]).run()
    assert not at.exception
    at = open_page("device", device="dev-f")
    device_alerts = table(at, "state", "severity", "rule", "summary", "evidence")
    assert list(device_alerts["rule"]) == ["DeviceOffline"]
    assert list(device_alerts["evidence"]) == [f"alerts?alert={offline['fingerprint']}"]


def test_fleet_page_says_when_nothing_fires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start_empty_server(tmp_path / "quiet.duckdb", alerting=True)
    try:
        send_device(running.seeded, "dev-a")  # one healthy device, the default rules
        monkeypatch.setenv("EDGEWATCH_DASHBOARD_SERVER", running.seeded.url)
        monkeypatch.setenv("EDGEWATCH_DASHBOARD_TOKEN", running.seeded.admin)
        at = open_page("fleet")
        assert at.subheader[0].value == "Firing now"
        assert [s.value for s in at.success] == ["Nothing firing."]
        assert metrics(at)["Critical"] == "0"
    finally:
        running.stop()


def test_drift_page_ranks_the_drifted_feature_first(dashboard_env: SeededServer) -> None:
    at = open_page("drift")
    at.selectbox(key="drift_version").set_value("1.1.0").run()
    assert not at.exception
    ranked = table(at, "feature", "verdict", "score", "threshold", "method")
    verdicts = dict(zip(ranked["feature"], ranked["verdict"], strict=True))
    assert verdicts == {
        "f01": "drift",
        "(predicted classes)": "drift",  # dev-d predicts the classes in reverse shares
        "f00": "no drift",
        "f02": "no drift",
    }
    assert list(ranked["feature"])[2:] != ["f01"]  # the drifted ones rank first
    assert set(list(ranked["feature"])[:2]) == {"f01", "(predicted classes)"}
    assert at.selectbox(key="drift_feature").options[0] == "f01"
    assert len(at.get("plotly_chart")) >= 4  # heatmap, feature and confidence overlays, classes
    assert not at.text_input  # the class labels come from the server: nothing to type
    shares = table(at, "class", "share now", "change").set_index("class")
    assert list(shares.index) == ["bird", "cat", "dog"]
    at.selectbox(key="drift_device").set_value("dev-d").run()
    shares = table(at, "class", "share now", "change").set_index("class")
    # dev-d predicts bird 300, dog 200, cat 100 a minute (the others the reverse)
    assert shares["share now"].tolist() == ["50.0 %", "16.7 %", "33.3 %"]


def test_drift_page_report_says_how_to_get_sampled_rows(dashboard_env: SeededServer) -> None:
    at = open_page("drift")
    at.selectbox(key="drift_version").set_value("1.1.0").run()
    _button(at, "Build report").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (message,) = [i.value for i in at.info if "sampled" in i.value]
    assert "sampling" in message  # the server's 422 names the remedy: raise the budget
    assert not at.get("download_button")


def test_versions_page_gives_the_rollout_verdict(dashboard_env: SeededServer) -> None:
    at = open_page("versions")
    assert [e.value for e in at.error] == ["In this window: 1.1.0 measured worse than 1.0.0."]
    signals = table(at, "signal", "change", "verdict", "explanation").set_index("signal")
    assert signals.loc["latency_p50", "verdict"] == "b worse"
    assert signals.loc["latency_p50", "change"].endswith(" %")
    assert signals.loc["latency_p50", "1.1.0"].endswith(" ms")
    assert signals.loc["predictions", "change"].startswith("distance ")


def test_versions_page_sets_versions_side_by_side_per_hardware_class(
    dashboard_env: SeededServer,
) -> None:
    at = open_page("versions")
    per_class = table(at, "hardware class", "profile p95", "fleet latency", "gate")
    assert list(per_class["hardware class"]) == ["raspberry-pi-5"]
    (gate,) = per_class["gate"]
    assert gate in ("✅ pass", "❌ fail", "⏳ wait")
    assert any(m.value.startswith("**1.1.0** vs 1.0.0 — rollout gate: ") for m in at.markdown)
    assert "no hardware class profiled for both" in texts(at)


def test_a_version_link_opens_that_version_as_b(dashboard_env: SeededServer) -> None:
    at = open_page("versions", model="classifier", version="1.0.0")
    assert (at.selectbox(key="versions_a").value, at.selectbox(key="versions_b").value) == (
        "1.1.0",
        "1.0.0",
    )


def test_settings_page_rules_receivers_baselines(dashboard_env: SeededServer) -> None:
    at = open_page("settings")
    rules = table(at, "rule", "detector", "last evaluated")
    assert list(rules["rule"]) == ["DeviceOffline", "FeatureDrift", "PredictionDrift"]
    assert all(x.endswith("ago") for x in rules["last evaluated"])
    receivers = table(at, "receiver", "host", "failed", "health")
    assert receivers.iloc[0]["host"].startswith("127.0.0.1:")
    assert receivers.iloc[0]["health"] in ("retrying", "failing")  # nobody listens there
    page = texts(at) + receivers.to_string()
    assert "whsec_" not in page and "key=hidden" not in page and "/hooks/" not in page
    baselines = table(at, "id", "model", "version", "source", "rows")
    assert sorted(baselines["version"]) == ["1.0.0", "1.1.0"]
    summary = table(at, "feature", "count", "mean", "p50", "p95", "missing")
    assert {"f00", "f01", "f02"} <= set(summary["feature"])
    _button(at, "Reload rules file").click().run()
    assert any("Reloaded: 3 rules" in s.value for s in at.success)


def test_a_version_link_opens_a_version_no_device_runs_any_more(
    dashboard_env: SeededServer,
) -> None:
    """A BadRollout alert's link names a version that was rolled back: the page still opens
    it as B (the alert's evidence), saying that no device runs it now."""
    at = open_page("versions", model="classifier", version="1.0.1")
    assert at.selectbox(key="versions_b").value == "1.0.1"
    assert at.selectbox(key="versions_b").options == ["1.0.0", "1.0.1", "1.1.0"]
    assert any("No device runs classifier 1.0.1 now" in i.value for i in at.info)
    assert any(m.value.startswith("**1.0.1** vs 1.0.0 — rollout gate: ") for m in at.markdown)
