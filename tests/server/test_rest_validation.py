"""Bad REST input is a 4xx naming the parameter, never a 5xx (issue #12, finding 6).

Each case is one schemathesis found against a real server: times outside ``datetime``'s
range, NaN and infinite numbers, offsets beyond DuckDB's integers. Storage error text never
reaches a client, and 503 + Retry-After is kept for what a retry can fix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pytest
from live_server import REQUEST_TIMEOUT_S, free_port, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from server_harness import LiveServer, serve_in_thread

from edgewatch.server.settings import load_settings
from edgewatch.server.store import StoreError

SILENCE = '{"matchers": [{"name": "alertname", "value": "x"}], "created_by": "t", "comment": "c"'

CASES = [
    ("GET", "/api/v1/fleet/summary?end=-4.6e16", None, "end"),
    ("GET", "/api/v1/fleet/summary?start=1e20", None, "start"),
    ("GET", "/api/v1/fleet/summary?end=nan", None, "end"),
    ("GET", "/api/v1/drift?from=0001-01-01T00:00:00%2B01:00", None, "from"),
    ("GET", "/api/v1/drift?to=9999-12-31T23:59:59-01:00", None, "to"),
    ("GET", "/api/v1/versions/compare?model=m&a=1&b=2&from=0001-01-01T00:00:00Z", None, "from"),
    ("GET", "/api/v1/devices/dev-a?readings_since_s=1e20", None, "readings_since_s"),
    ("GET", "/api/v1/devices/dev-a?readings_since_s=inf", None, "readings_since_s"),
    ("GET", "/api/v1/series?metric=ml.inference.duration&step=inf", None, "step"),
    ("GET", "/api/v1/series?metric=ml.inference.duration&step=nan", None, "step"),
    ("GET", "/api/v1/devices?offset=59211941277216292864", None, "offset"),
    ("GET", "/api/v1/reports/drift?model=m&version=1&from=1e300", None, "from"),
    ("GET", "/api/v1/reports/drift?model=m&version=1&to=-1e300", None, "to"),
    ("POST", "/api/v1/silences", SILENCE + ', "duration_s": NaN}', "duration_s"),
    ("POST", "/api/v1/silences", SILENCE + ', "duration_s": 1e308}', "duration_s"),
    (
        "POST",
        "/api/v1/silences",
        SILENCE + ', "starts_at": "9999-12-31T00:00:00Z", "duration_s": 86400}',
        "starts_at",
    ),
    ("PUT", "/api/v1/devices/dev-a/sampling", '{"rows_per_hour": 10, "for_s": NaN}', "for_s"),
    (
        "PUT",
        "/api/v1/devices/dev-a/sampling",
        '{"rows_per_hour": 9223372036854775808}',
        "rows_per_hour",
    ),
    ("PUT", "/api/v1/devices/dev-a/sampling", '{"bytes_per_day": 1e30}', "bytes_per_day"),
    (
        "POST",
        "/api/v1/baselines/pin",
        '{"model": "m", "version": "1", "from": "0001-01-01T00:00:00+01:00",'
        ' "to": "2026-01-01T00:00:00Z"}',
        "from",
    ),
]


@pytest.fixture
def with_data(live_server: LiveServer) -> LiveServer:
    """The server after ``dev-a`` sent one export, so lookups reach the time arithmetic."""
    batch = device_batch("dev-a", end_ns=time.time_ns(), inferences=50, features=2)
    r = httpx.post(
        f"{live_server.url}/v1/metrics",
        content=collector_body(batch),
        headers=collector_headers(live_server.tokens.device_a),
        timeout=REQUEST_TIMEOUT_S,
    )
    assert r.status_code == 200, r.text
    return live_server


@pytest.mark.parametrize(("method", "path", "body", "name"), CASES)
def test_bad_input_is_a_4xx_naming_the_parameter(
    with_data: LiveServer, method: str, path: str, body: str | None, name: str
) -> None:
    live_server = with_data
    headers = {**live_server.admin(), "Content-Type": "application/json"}
    r = httpx.request(method, f"{live_server.url}{path}", content=body, headers=headers)
    assert r.status_code in (400, 422), r.text
    assert name in r.text
    assert "retry-after" not in r.headers


PROFILE = (
    '{"model": "m", "version": "1", "hardware_class": "h", "report": {"energy": {},'
    ' "latency": {"runs": 1, "mean_s": 0.1, "p50_s": 0.1, "p95_s": 0.1, "p99_s": 0.1},'
    ' "predictions": {"accuracy": %s}}}'
)
WRONG_TYPES = [
    ("POST", "/api/v1/profiles", PROFILE % "false", "accuracy"),
    ("POST", "/api/v1/profiles", PROFILE % '"0.5"', "accuracy"),
    ("PUT", "/api/v1/devices/dev-a/sampling", '{"bytes_per_day": false}', "bytes_per_day"),
    ("PUT", "/api/v1/devices/dev-a/sampling", '{"rows_per_hour": "10"}', "rows_per_hour"),
    ("PUT", "/api/v1/devices/dev-a/sampling", '{"enabled": 0}', "enabled"),
    ("POST", "/api/v1/silences", SILENCE + ', "duration_s": true}', "duration_s"),
    ("POST", "/api/v1/silences", SILENCE + ', "starts_at": 0, "duration_s": 60}', "starts_at"),
]


@pytest.mark.parametrize(("method", "path", "body", "name"), WRONG_TYPES)
def test_a_value_of_the_wrong_json_type_is_refused(
    with_data: LiveServer, method: str, path: str, body: str, name: str
) -> None:
    """A boolean or a string where the document says number (or a number where it says
    text) is a 422 naming the field, not read as 0, 1 or unix seconds (schemathesis found
    ``"accuracy": false`` stored as 0.0 and ``"bytes_per_day": false`` as a zero budget)."""
    live_server = with_data
    headers = {**live_server.admin(), "Content-Type": "application/json"}
    r = httpx.request(method, f"{live_server.url}{path}", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert name in r.text


def test_an_integral_number_is_an_integer(with_data: LiveServer) -> None:
    """``10.0`` is an integer to JSON Schema, so the budget takes it (schemathesis sends
    such numbers as valid data)."""
    live_server = with_data
    r = httpx.put(
        f"{live_server.url}/api/v1/devices/dev-a/sampling",
        content='{"rows_per_hour": 10.0, "for_s": 60}',
        headers={**live_server.admin(), "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows_per_hour"] == 10


def test_storage_error_text_never_reaches_the_client(live_server: LiveServer) -> None:
    """The offset that once overflowed DuckDB's BIGINT now stops at the edge; the answer
    carries neither DuckDB's words nor a Retry-After."""
    r = httpx.get(
        f"{live_server.url}/api/v1/devices",
        params={"offset": 2**64},
        headers=live_server.admin(),
    )
    assert r.status_code == 422
    for leak in ("Conversion", "INT64", "INT128", "storage failed"):
        assert leak not in r.text


def _failing(cause: Exception) -> Callable[..., object]:
    def list_devices(*args: object, **kwargs: object) -> object:
        raise StoreError(f"storage failed: {cause}") from cause

    return list_devices


@pytest.mark.parametrize(
    ("cause", "status", "retry_after"),
    [
        (duckdb.ConversionException("Type INT128 with value 1 can't be cast to INT64"), 500, None),
        (duckdb.IOException("could not write file: No space left on device"), 503, "1"),
    ],
)
def test_storage_failures_keep_their_text_in_the_server_log(
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cause: Exception,
    status: int,
    retry_after: str | None,
) -> None:
    """A fault a retry cannot fix is a 500 without Retry-After, a disk error a 503 with it;
    either way the client reads a generic line and the log has DuckDB's words."""
    monkeypatch.setattr(live_server.store, "list_devices", _failing(cause))
    with caplog.at_level(logging.ERROR, logger="edgewatch.server.api"):
        r = httpx.get(f"{live_server.url}/api/v1/devices", headers=live_server.admin())
    assert r.status_code == status
    assert r.headers.get("retry-after") == retry_after
    assert r.json() == {"detail": "storage error: the server logged the details"}
    assert str(cause) in caplog.text


def test_alerting_switched_off_is_a_503_without_retry_after(tmp_path: Path) -> None:
    """Retrying cannot turn alerting on, so the 503 carries no Retry-After to honour."""
    port = free_port()
    server, thread, _ = serve_in_thread(
        load_settings(db_path=tmp_path / "e.duckdb", port=port, alerting=False, insecure_dev=True)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        r = httpx.get(f"{url}/api/v1/alerts")
    finally:
        server.should_exit = True
        thread.join(15)
    assert r.status_code == 503
    assert "alerting is not running" in r.json()["detail"]
    assert "retry-after" not in r.headers
