"""The query API over real ingested data: devices, series, distributions, fleet summary."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from live_server import REQUEST_TIMEOUT_S
from otlp_wire import CLASSES, collector_body, collector_headers, device_batch

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.server.store import DeviceStatus, Selection

pytestmark = pytest.mark.timeout(60)
MINUTES = 5
INFERENCES = 600


@pytest.fixture
def fleet(live_server):
    """dev-a on 1.0.0 (3 errors a minute), dev-b on 2.0.0 (30 errors, slower), five minutes each."""
    now = time.time()
    end_ns = int(now * 1e9)
    for device, token, version, errors, latency in (
        ("dev-a", live_server.tokens.device_a, "1.0.0", 3, 0.02),
        ("dev-b", live_server.tokens.device_b, "2.0.0", 30, 0.05),
    ):
        for i in range(MINUTES):
            batch = device_batch(
                device,
                end_ns=end_ns - (MINUTES - i) * 60 * 10**9,
                features=4,
                inferences=INFERENCES,
                errors=errors,
                model_version=version,
                latency_s=latency,
                rng=np.random.default_rng(i),
                fleet="north" if device == "dev-a" else "south",
            )
            r = httpx.post(
                f"{live_server.url}/v1/metrics",
                content=collector_body(batch),
                headers=collector_headers(token),
                timeout=REQUEST_TIMEOUT_S,
            )
            assert r.status_code == 200
    live_server.store.roll_up()
    return live_server, now


def get(server, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers=server.admin(), timeout=10)


def test_device_list_filters(fleet) -> None:
    server, now = fleet
    all_devices = get(server, "/api/v1/devices").json()
    assert [d["device_id"] for d in all_devices["devices"]] == ["dev-a", "dev-b"]
    only_b = get(server, "/api/v1/devices", model_version="2.0.0").json()["devices"]
    assert [d["device_id"] for d in only_b] == ["dev-b"]
    assert get(server, "/api/v1/devices", fleet="north").json()["count"] == 1
    assert get(server, "/api/v1/devices", hardware="jetson").json()["count"] == 0
    assert get(server, "/api/v1/devices", status="online").json()["count"] == 2
    assert get(server, "/api/v1/devices", status="offline").json()["count"] == 0
    later = server.store.list_devices(
        Selection(), status=DeviceStatus.OFFLINE, now=from_unix_s(now + 3600)
    )
    assert len(later) == 2
    stale = server.store.list_devices(
        Selection(), status=DeviceStatus.STALE, now=from_unix_s(now + 600)
    )
    assert [d.device_id for d in stale] == ["dev-a", "dev-b"]
    assert get(server, "/api/v1/devices", status="gone").status_code == 422
    assert get(server, "/api/v1/devices/nope").json() == {"detail": "device 'nope' not found"}


def _window(now: float) -> dict[str, float]:
    return {"start": (now // 3600 - 1) * 3600, "end": (now // 3600 + 1) * 3600}


@pytest.mark.parametrize(("step", "resolution"), [(10, "raw"), (60, "1m"), (3600, "1h")])
def test_series_from_raw_and_rollups_agree(fleet, step: int, resolution: str) -> None:
    server, now = fleet
    body = get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_COUNT,
        device_id="dev-b",
        step=step,
        **_window(now),
    ).json()
    assert body["resolution"] == resolution
    assert body["agg"] == "sum"
    assert sum(v for _, v in body["points"]) == MINUTES * INFERENCES
    errors = get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_COUNT,
        step=step,
        attr=f"{semconv.OUTCOME}=error",
        **_window(now),
    ).json()
    assert sum(v for _, v in errors["points"]) == MINUTES * (3 + 30)


def test_series_aggregates_over_a_selection(fleet) -> None:
    server, now = fleet
    charge = get(
        server,
        "/api/v1/series",
        metric=semconv.HW_BATTERY_CHARGE,
        step=60,
        fleet="north",
        **_window(now),
    ).json()
    assert charge["agg"] == "avg"
    assert {v for _, v in charge["points"]} == {0.8}
    p50 = get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_DURATION,
        step=60,
        agg="p50",
        model_version="2.0.0",
        **_window(now),
    ).json()
    assert len(p50["points"]) == MINUTES
    assert all(v == pytest.approx(0.05, rel=0.1) for _, v in p50["points"])


def test_a_quantile_series_of_a_selection_without_data_is_empty(fleet) -> None:
    """p95 latency of a version no device reported in the window (a rolled-back or not yet
    started one): no points, not a 400 saying a gauge has no quantiles."""
    server, now = fleet
    r = get(
        server,
        "/api/v1/series",
        metric=semconv.INFERENCE_DURATION,
        step=60,
        agg="p95",
        version="9.9.9",
        **_window(now),
    )
    assert r.status_code == 200, r.text
    assert r.json()["points"] == []


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"metric": "nope"}, 404, "metric 'nope' not found"),
        ({"metric": semconv.HW_POWER, "agg": "p99"}, 400, "agg 'p99' is not available for gauge"),
        (
            {"metric": semconv.HW_POWER, "attr": "novalue"},
            400,
            "attr 'novalue' must look like key=value",
        ),
        ({"metric": semconv.HW_POWER, "start": 10, "end": 5}, 400, "must be after from"),
        ({"metric": semconv.HW_POWER, "step": 0.001}, 400, "more than 5000 buckets"),
    ],
)
def test_series_bad_queries(fleet, params: dict[str, object], status: int, detail: str) -> None:
    server, _ = fleet
    r = get(server, "/api/v1/series", **params)
    assert r.status_code == status
    assert detail in r.json()["detail"]


def test_distribution_of_one_feature_raw_and_rolled_up(fleet) -> None:
    server, now = fleet
    raw = get(
        server,
        "/api/v1/distributions",
        metric=semconv.FEATURE_VALUE,
        feature="f02",
        start=now - 3600,
        end=now,
    ).json()
    assert raw["resolution"] == "raw"
    assert raw["devices"] == 2
    assert raw["count"] == 2 * MINUTES * INFERENCES
    assert raw["mean"] == pytest.approx(2.0, abs=0.05)  # feature i ~ normal(i, 1 + i/10)
    assert raw["quantiles"]["p50"] == pytest.approx(2.0, abs=0.1)
    assert raw["quantiles"]["p95"] == pytest.approx(2.0 + 1.645 * 1.2, rel=0.05)
    rolled = get(
        server,
        "/api/v1/distributions",
        metric=semconv.FEATURE_VALUE,
        feature="f02",
        start=now - 3 * 3600,
        end=now + 60,
    ).json()
    assert rolled["resolution"] == "1m"
    assert rolled["count"] == raw["count"]
    assert rolled["quantiles"]["p50"] == pytest.approx(raw["quantiles"]["p50"], rel=0.05)
    gauge = get(server, "/api/v1/distributions", metric=semconv.HW_POWER)
    assert gauge.status_code == 400
    assert "not an exponential histogram" in gauge.json()["detail"]


def test_fleet_summary_per_model_version(fleet) -> None:
    server, now = fleet
    body = get(server, "/api/v1/fleet/summary", start=now - 3600, end=now).json()
    assert body["devices"] == 2 and body["online"] == 2
    by_version = {v["model_version"]: v for v in body["versions"]}
    v1, v2 = by_version["1.0.0"], by_version["2.0.0"]
    assert v1["devices"] == 1 and v1["online"] == 1
    assert v1["inferences"] == MINUTES * INFERENCES
    assert v1["inference_rate_per_s"] == pytest.approx(MINUTES * INFERENCES / 3600)
    assert v1["error_rate"] == pytest.approx(3 / INFERENCES)
    assert v2["error_rate"] == pytest.approx(30 / INFERENCES)
    assert v1["latency_s"]["p50"] == pytest.approx(0.02, rel=0.1)
    assert v2["latency_s"]["p99"] > v1["latency_s"]["p99"]
    north = get(server, "/api/v1/fleet/summary", fleet="north", start=now - 3600, end=now).json()
    assert [v["model_version"] for v in north["versions"]] == ["1.0.0"]


def test_prediction_classes_lists_labels_with_counts_in_the_window(fleet) -> None:
    server, now = fleet
    body = get(server, "/api/v1/predictions/classes", start=now - 3600, end=now + 60).json()
    assert [c["label"] for c in body["classes"]] == sorted(CLASSES)
    assert body["total"] == sum(c["count"] for c in body["classes"]) == 2 * MINUTES * INFERENCES
    one = get(server, "/api/v1/predictions/classes", model_version="2.0.0", start=now - 3600)
    assert sum(c["count"] for c in one.json()["classes"]) == MINUTES * INFERENCES
    later = get(server, "/api/v1/predictions/classes", start=now + 60, end=now + 120).json()
    assert [c["label"] for c in later["classes"]] == sorted(CLASSES)  # labels outlive the window
    assert later["total"] == 0 and {c["count"] for c in later["classes"]} == {0}
    assert get(server, "/api/v1/predictions/classes", device_id="nope").json()["classes"] == []


def test_token_admin_api(live_server) -> None:
    created = httpx.post(
        f"{live_server.url}/api/v1/tokens",
        json={"role": "device", "device_id": "dev-z"},
        headers=live_server.admin(),
    )
    assert created.status_code == 201
    token = created.json()["token"]
    listed = httpx.get(f"{live_server.url}/api/v1/tokens", headers=live_server.admin()).json()
    assert created.json()["token_id"] in {t["token_id"] for t in listed}
    assert all("token" not in t for t in listed)
    batch = device_batch("dev-z", end_ns=time.time_ns(), features=1)

    def send() -> httpx.Response:
        return httpx.post(
            f"{live_server.url}/v1/metrics",
            content=collector_body(batch),
            headers=collector_headers(token),
        )

    assert send().status_code == 200
    revoked = httpx.delete(
        f"{live_server.url}/api/v1/tokens/{created.json()['token_id']}", headers=live_server.admin()
    )
    assert revoked.json()["revoked_at"] is not None
    assert send().status_code == 401
    bad = httpx.post(
        f"{live_server.url}/api/v1/tokens", json={"role": "device"}, headers=live_server.admin()
    )
    assert bad.status_code == 400
    assert "needs device_id" in bad.json()["detail"]
    assert (
        httpx.delete(
            f"{live_server.url}/api/v1/tokens/000000000000", headers=live_server.admin()
        ).status_code
        == 404
    )


def test_one_time_format_and_one_selection_vocabulary(fleet) -> None:
    """``from``/``to`` take RFC 3339 or unix seconds alike; ``device``/``model``/``version``
    select like the deprecated ``device_id``/``model_name``/``model_version``."""
    server, now = fleet
    start, end = now - 3600, now + 60
    rfc = {
        "from": datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z"),
        "to": datetime.fromtimestamp(end, UTC).isoformat().replace("+00:00", "Z"),
    }
    by_unix = get(server, "/api/v1/fleet/summary", **{"from": start, "to": end}).json()
    by_rfc = get(server, "/api/v1/fleet/summary", **rfc).json()
    by_old = get(server, "/api/v1/fleet/summary", start=start, end=end).json()
    assert by_unix["versions"] == by_rfc["versions"] == by_old["versions"]
    assert by_rfc["start"] == by_unix["start"] == rfc["from"]  # answers: RFC 3339 only
    new = get(server, "/api/v1/devices", model="classifier", version="2.0.0").json()
    old = get(server, "/api/v1/devices", model_name="classifier", model_version="2.0.0").json()
    assert (
        [d["device_id"] for d in new["devices"]]
        == ["dev-b"]
        == [d["device_id"] for d in old["devices"]]
    )
    assert get(server, "/api/v1/devices", device="dev-a").json()["count"] == 1
    naive = get(server, "/api/v1/fleet/summary", **{"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 400 and "time zone" in naive.json()["detail"]
    both = get(server, "/api/v1/devices", device="dev-a", device_id="dev-b")
    assert both.status_code == 400 and "not both" in both.json()["detail"]
