"""The dashboard's API client against a real server, and its messages for every failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dashboard_fleet import ERRORS, INFERENCES
from dashboard_harness import BATCHES_IN_LAST_HOUR, SeededServer
from live_server import free_port

from edgewatch.dashboard import (
    AlertingDisabledError,
    Client,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
    ServerError,
    ServerUnreachableError,
    UnauthorizedError,
)
from edgewatch.dashboard._page import scale_banner

pytestmark = pytest.mark.timeout(120)


def _window(hours: float = 1.0) -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - timedelta(hours=hours), end


def test_devices_and_fleet_summary_match_what_devices_sent(seeded_server: SeededServer) -> None:
    with Client(seeded_server.url, seeded_server.admin) as client:
        devices = {d.device_id: d for d in client.devices()}
        assert sorted(devices) == ["dev-a", "dev-b", "dev-c", "dev-d", "dev-e", "dev-f"]
        assert devices["dev-e"].status == "stale"
        assert devices["dev-f"].status == "offline"
        assert devices["dev-c"].power_sources == []
        assert devices["dev-a"].power_sources == ["battery"]
        summary = client.fleet_summary(*_window())
    by_version = {v.model_version: v for v in summary.versions}
    assert by_version["1.0.0"].devices == 4
    assert by_version["1.1.0"].devices == 2
    total = sum(v.inferences for v in summary.versions)
    assert total == BATCHES_IN_LAST_HOUR * INFERENCES
    assert by_version["1.0.0"].error_rate == pytest.approx(ERRORS / INFERENCES)


def test_device_detail_series_and_distribution(seeded_server: SeededServer) -> None:
    start, end = _window()
    with Client(seeded_server.url, seeded_server.admin) as client:
        detail = client.device("dev-a")
        power = detail.reading("hw.power")
        assert power is not None and power.value == 4.0
        assert power.attributes == {"edgewatch.power.source": "battery"}
        memory = client.series("process.memory.usage", start, end, step_s=30, device="dev-a")
        assert memory.values and set(memory.values) == {80 * 2**20}
        latency = client.distribution("ml.inference.duration", start, end, version="1.1.0")
        assert latency is not None and latency.devices == 2
        assert latency.quantiles["p50"] == pytest.approx(0.050, rel=0.1)
        # A metric nobody sent is an empty series, not an error.
        assert client.series("no.such.metric", start, end, step_s=30).values == ()
        assert client.distribution("no.such.metric", start, end) is None
        classes = client.prediction_classes(start, end, device="dev-a")
        assert [(c.label, c.count) for c in classes.classes] == [
            ("bird", 3000),
            ("cat", 9000),
            ("dog", 6000),
        ]
        assert classes.shares(("cat",)) == [0.5]


def test_unknown_device_is_not_found_but_not_a_missing_endpoint(seeded_server) -> None:
    with Client(seeded_server.url, seeded_server.admin) as client:
        with pytest.raises(NotFoundError, match="nope") as info:
            client.device("nope")
    assert not info.value.endpoint_missing


def test_server_down_is_unreachable_with_advice() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "t") as client:
        with pytest.raises(ServerUnreachableError, match="Is it running"):
            client.devices()


def test_wrong_token_and_device_token_are_unauthorized(seeded_server: SeededServer) -> None:
    with Client(seeded_server.url, "not-a-token") as client:
        with pytest.raises(UnauthorizedError, match="refused the token"):
            client.devices()
    with seeded_server.api() as api:
        device_token = api.post(
            "/api/v1/tokens", json={"role": "device", "device_id": "dev-x"}
        ).json()["token"]
    with Client(seeded_server.url, device_token) as client:
        with pytest.raises(UnauthorizedError, match="needs an admin token"):
            client.devices()


def _mock(status: int, payload: object) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(payload, bytes):
            return httpx.Response(status, content=payload)
        return httpx.Response(status, json=payload)

    return Client("http://edgewatch.test", "t", transport=httpx.MockTransport(handler))


def test_malformed_answers_name_the_field() -> None:
    bad_status = {
        "devices": [
            {
                "device_id": "d",
                **dict.fromkeys(("fleet", "model_name", "model_version", "hardware", "runtime")),
                **dict.fromkeys(("host_arch", "os_type", "service_name", "power_sources")),
                **dict.fromkeys(("last_batch_key", "clock_skew_s")),
                "attributes": {},
                "first_seen": "2026-01-31T12:00:00Z",
                "last_seen": "2026-01-31T12:01:00Z",
                "status": "sleeping",
            }
        ],
        "count": 1,
    }
    with _mock(200, bad_status) as client:
        with pytest.raises(MalformedResponseError, match=r"devices\[0\]\.status.*sleeping") as e:
            client.devices()
    assert str(e.value).count("cannot read") == 1
    with _mock(200, {"alerts": [{"fingerprint": 3}]}) as client:
        with pytest.raises(MalformedResponseError, match=r"alerts\[0\]\.fingerprint"):
            client.alerts()
    with _mock(200, b"<html>proxy login</html>") as client:
        with pytest.raises(MalformedResponseError, match="not JSON"):
            client.devices()


def test_server_failures_and_refusals_carry_the_servers_reason() -> None:
    with _mock(503, {"detail": "the store is not open"}) as client:
        with pytest.raises(ServerError, match=r"HTTP 503.*store is not open"):
            client.devices()
    with _mock(422, {"detail": [{"loc": ["body", "author"], "msg": "Field required"}]}) as c:
        with pytest.raises(RequestRejectedError, match="author: Field required"):
            c.ack("abc", author="", comment="")


def test_an_older_server_without_an_endpoint_is_told_apart() -> None:
    # FastAPI answers a path it has no route for with exactly this body.
    with _mock(404, {"detail": "Not Found"}) as client:
        with pytest.raises(NotFoundError) as info:
            client.alerts()
    assert info.value.missing_endpoint == "/api/v1/alerts"
    with _mock(404, {"detail": "no current alert with fingerprint 'x'"}) as client:
        with pytest.raises(NotFoundError, match="no current alert") as info:
            client.alert("x")
    assert not info.value.endpoint_missing


def test_alerting_switched_off_is_its_own_error(alerting_off_server: SeededServer) -> None:
    with Client(alerting_off_server.url, alerting_off_server.admin) as client:
        with pytest.raises(AlertingDisabledError, match="alerting switched off"):
            client.alerts()
        assert client.devices()  # the rest of the API answers


def test_alerting_api_round_trip(seeded_server: SeededServer) -> None:
    with Client(seeded_server.url, seeded_server.admin) as client:
        firing = client.alerts(state="firing")
        offline = next(a for a in firing if a.labels.get("device") == "dev-f")
        assert offline.rule == "DeviceOffline" and offline.severity == "critical"
        detail = client.alert(offline.fingerprint)
        assert detail.evidence is not None and detail.evidence.detector == "missing_heartbeat"
        assert [h.state for h in detail.history][-1] == "firing"
        rules = {r.name: r for r in client.rules()}
        assert (
            rules["FeatureDrift"].scope.level == "version" and rules["FeatureDrift"].interval_s == 3
        )
        (receiver,) = client.receivers()
        assert receiver.endpoint_host is not None and receiver.endpoint_host.startswith(
            "127.0.0.1:"
        )
        baselines = client.baselines()
        assert {b.version for b in baselines} == {"1.0.0", "1.1.0"}
        summary = client.baseline(baselines[0].id).summary or []
        assert {s.feature for s in summary} >= {"f00", "f01", "f02"}
        start, end = _window()
        drift = client.drift(start, end, model="classifier", version="1.1.0", feature="f01")
        assert drift and drift[-1].verdict == "drift" and drift[-1].method == "psi"
        verdict = client.compare_versions("classifier", "1.0.0", "1.1.0", start, end)
        assert verdict.verdict == "b_worse"


def test_bad_server_url_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        Client("127.0.0.1:4318", "t")


def test_device_detail_carries_what_the_device_lost(seeded_server: SeededServer) -> None:
    with Client(seeded_server.url, seeded_server.admin) as client:
        lossy = client.device("dev-b").dropped
        assert client.device("dev-a").dropped is None
    assert lossy is not None
    assert lossy.batches == {"spool_full": 3}
    assert lossy.inferences == {"spool_full": 3 * INFERENCES}
    assert lossy.last_drop_at is not None and lossy.last_drop_at < lossy.reported_at


def test_rule_time_scale_comes_from_readyz_and_defaults_to_real_time() -> None:
    assert _mock(200, {"status": "ready", "rule_time_scale": 60}).rule_time_scale() == 60.0
    assert _mock(200, {"status": "ready"}).rule_time_scale() == 1.0  # an older server
    assert _mock(503, b"not json").rule_time_scale() == 1.0
    assert _mock(200, {"rule_time_scale": -3}).rule_time_scale() == 1.0


def test_the_banner_says_rules_are_scaled_only_when_they_are() -> None:
    assert scale_banner(1.0) is None
    banner = scale_banner(60.0)
    assert banner is not None and banner.startswith("demo: rule windows scaled to 60x")
