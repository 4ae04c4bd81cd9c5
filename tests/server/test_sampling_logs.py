"""``POST /v1/logs``: sampled rows stored once, bad inputs answered like ``/v1/metrics``."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from sampling_wire import headers, raw_request, sample_body, server_with

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.server.store import Store

ROWS = [{"px0": float(i), "px1": 0.5, "color": "red"} for i in range(5)]


def _stored(store: Store, device: str) -> list[dict[str, object]]:
    found = store.samples.current(
        model_name="digits",
        model_version="v1",
        device_id=device,
        start=from_unix_s(time.time() - 3600),
        end=from_unix_s(time.time() + 60),
        limit=1000,
    )
    return found.features


def test_rows_are_stored_once_per_idempotency_key(live_server) -> None:
    body = sample_body("dev-a", ROWS)
    h = headers(live_server.tokens.device_a, key="a" * 32)
    with httpx.Client(base_url=live_server.url) as client:
        first = client.post(semconv.LOGS_PATH, content=body, headers=h)
        again = client.post(semconv.LOGS_PATH, content=body, headers=h)
    assert first.status_code == again.status_code == 200
    response = ExportLogsServiceResponse.FromString(first.content)
    assert not response.HasField("partial_success")
    stored = _stored(live_server.store, "dev-a")
    assert sorted(r["px0"] for r in stored) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(r["color"] == "red" for r in stored)


def test_json_body_is_accepted(live_server) -> None:
    from google.protobuf import json_format

    message = ExportLogsServiceRequest.FromString(raw_request(sample_body("dev-a", ROWS[:2])))
    body = json_format.MessageToJson(message).encode()
    with httpx.Client(base_url=live_server.url) as client:
        r = client.post(
            semconv.LOGS_PATH,
            content=body,
            headers={
                "Authorization": f"Bearer {live_server.tokens.device_a}",
                "Content-Type": "application/json",
            },
        )
    assert r.status_code == 200, r.text
    assert json.loads(r.content) == {}
    assert len(_stored(live_server.store, "dev-a")) == 2


def test_records_that_are_not_samples_are_rejected_one_by_one(live_server) -> None:
    message = ExportLogsServiceRequest.FromString(raw_request(sample_body("dev-a", ROWS[:3])))
    records = message.resource_logs[0].scope_logs[0].log_records
    records[0].attributes[0].value.string_value = "app.log"  # an ordinary log line
    records[1].body.kvlist_value.values[0].key = "not_features"
    body = gzip.compress(message.SerializeToString())
    with httpx.Client(base_url=live_server.url) as client:
        r = client.post(
            semconv.LOGS_PATH, content=body, headers=headers(live_server.tokens.device_a)
        )
    assert r.status_code == 200
    partial = ExportLogsServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_log_records == 2
    assert "event.name" in partial.error_message and "features" in partial.error_message
    assert len(_stored(live_server.store, "dev-a")) == 1


def test_bad_requests_get_final_otlp_errors(live_server) -> None:
    body = sample_body("dev-a", ROWS)
    token = live_server.tokens.device_a
    with httpx.Client(base_url=live_server.url) as client:
        no_token = client.post(
            semconv.LOGS_PATH, content=body, headers={"Content-Type": "application/x-protobuf"}
        )
        wrong_device = client.post(
            semconv.LOGS_PATH, content=body, headers=headers(live_server.tokens.device_b)
        )
        bad_gzip = client.post(semconv.LOGS_PATH, content=b"not gzip", headers=headers(token))
        not_protobuf = client.post(
            semconv.LOGS_PATH, content=gzip.compress(b"\xff\xff\xff"), headers=headers(token)
        )
        media = client.post(
            semconv.LOGS_PATH,
            content=body,
            headers={**headers(token), "Content-Type": "text/plain"},
        )
        too_large = client.post(
            semconv.LOGS_PATH,
            content=gzip.compress(b"\0" * (300 * 1024)),
            headers=headers(token),
        )
        bad_key = client.post(
            semconv.LOGS_PATH, content=body, headers={**headers(token), "Idempotency-Key": "a b"}
        )
    assert no_token.status_code == 401
    assert wrong_device.status_code == 403
    assert "dev-a" in status_pb2.Status.FromString(wrong_device.content).message
    assert bad_gzip.status_code == 400
    assert "gzip" in status_pb2.Status.FromString(bad_gzip.content).message
    assert not_protobuf.status_code == 400
    assert "ExportLogsServiceRequest" in status_pb2.Status.FromString(not_protobuf.content).message
    assert media.status_code == 415
    assert too_large.status_code == 413
    assert bad_key.status_code == 400
    assert _stored(live_server.store, "dev-a") == []


def test_each_device_keeps_only_its_newest_rows(tmp_path: Path) -> None:
    with server_with(tmp_path, max_samples_per_device=4) as server:
        now = time.time_ns()
        with httpx.Client(base_url=server.url) as client:
            for batch in range(3):
                rows = [{"px0": float(batch * 10 + i)} for i in range(3)]
                body = sample_body("dev-a", rows, at_ns=now - (3 - batch) * 10**9)
                r = client.post(
                    semconv.LOGS_PATH, content=body, headers=headers(server.tokens.device_a)
                )
                assert r.status_code == 200
        kept = sorted(r["px0"] for r in _stored(server.store, "dev-a"))
    assert kept == [12.0, 20.0, 21.0, 22.0]


def test_retention_deletes_old_rows(tmp_path: Path) -> None:
    with server_with(tmp_path, samples_retention_s=3600) as server:
        with httpx.Client(base_url=server.url) as client:
            r = client.post(
                semconv.LOGS_PATH,
                content=sample_body("dev-a", ROWS),
                headers=headers(server.tokens.device_a),
            )
            assert r.status_code == 200
        server.store.enforce_retention(now=from_unix_s(time.time() + 1800))
        assert len(_stored(server.store, "dev-a")) == 5
        server.store.enforce_retention(now=from_unix_s(time.time() + 7200))
        assert server.store.row_counts("dev-a")["samples"] == 0
