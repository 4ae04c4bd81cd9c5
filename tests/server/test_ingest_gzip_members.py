"""A gzip body of several members (RFC 1952; what writers that append a member per flush
send) is stored whole, not just its first member; bytes after the last member and bodies of
thousands of members are refused with a 400 that says so."""

from __future__ import annotations

import gzip
import time

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import collector_headers, gauge_metric, resource_attributes

from edgewatch.server.ingest import DecodeError, PayloadTooLargeError, gunzip
from edgewatch.server.ingest._decode import MAX_GZIP_MEMBERS

pytestmark = pytest.mark.timeout(60)


def test_every_member_is_read_within_the_cap() -> None:
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"") + gzip.compress(b"cd"), 4) == b"abcd"
    with pytest.raises(PayloadTooLargeError, match="exceeds 4 bytes"):
        gunzip(gzip.compress(b"abc") + gzip.compress(b"de"), 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (gzip.compress(b"ab") + b"junk", "incorrect header check"),
        (gzip.compress(b"ab") + gzip.compress(b"cd")[:-3], "truncated stream"),
        (gzip.compress(b"") * (MAX_GZIP_MEMBERS + 1), f"more than {MAX_GZIP_MEMBERS} members"),
    ],
    ids=["garbage", "truncated", "too-many"],
)
def test_what_follows_the_members_must_be_members(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        gunzip(body, 1000)


def _request(metric: str) -> bytes:
    now_ns = time.time_ns()
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes("dev-a"))
    rm.scope_metrics.add().metrics.append(
        gauge_metric(metric, "1", [(1.0, [])], now_ns - 10**9, now_ns)
    )
    return request.SerializeToString()


def test_a_request_in_two_members_is_stored_whole(live_server) -> None:
    # protobuf messages concatenated are one message: each member holds one resource
    body = gzip.compress(_request("first.gauge")) + gzip.compress(_request("second.gauge"))
    r = httpx.post(
        f"{live_server.url}/v1/metrics",
        content=body,
        headers=collector_headers(live_server.tokens.device_a),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert live_server.store.row_counts("dev-a")["points"] == 2

    garbage = gzip.compress(_request("third.gauge")) + b"\x00" * 8
    r = httpx.post(
        f"{live_server.url}/v1/metrics",
        content=garbage,
        headers=collector_headers(live_server.tokens.device_a),
        timeout=10,
    )
    assert r.status_code == 400
    assert "body is not valid gzip" in status_pb2.Status.FromString(r.content).message
    assert live_server.store.row_counts("dev-a")["points"] == 2
