"""The stdlib transport against a real loopback server, and the outage wrapper."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from edgewatch.collector import Transport, TransportResponse
from edgewatch.demo import (
    V1,
    DeviceConditions,
    FailingTransport,
    HttpTransport,
    Incident,
    SimulatedOutageError,
)


class _Handler(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body, self.headers.get("Authorization", "")))
        status = 503 if self.path.startswith("/busy") else 200
        self.send_response(status)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_http_transport_posts_body_and_headers(server: str) -> None:
    transport = HttpTransport()
    assert isinstance(transport, Transport)
    response = transport.post(
        f"{server}/v1/metrics", b"payload", {"Authorization": "Bearer t"}, timeout_s=5
    )
    assert response.status == 200 and response.body == b"{}"
    assert _Handler.received == [("/v1/metrics", b"payload", "Bearer t")]


def test_http_transport_returns_retryable_statuses_with_their_headers(server: str) -> None:
    response = HttpTransport().post(f"{server}/busy", b"x", {}, timeout_s=5)
    assert response.status == 503 and response.headers["retry-after"] == "7"


def test_http_transport_raises_oserror_when_nothing_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        HttpTransport().post(f"http://127.0.0.1:{port}/v1/metrics", b"x", {}, timeout_s=2)


def test_http_transport_refuses_a_non_http_url() -> None:
    with pytest.raises(ValueError, match="expected an http"):
        HttpTransport().post("ftp://host/x", b"x", {}, timeout_s=1)


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> TransportResponse:
        self.calls += 1
        return TransportResponse(200)


@pytest.mark.parametrize(
    ("t_s", "offline"),
    [
        (0.0, False),
        (599.999, False),
        (600.0, True),
        (900.0, True),
        (1199.999, True),
        (1200.0, False),
    ],
)
def test_failing_transport_fails_exactly_during_the_offline_window(
    t_s: float, offline: bool
) -> None:
    conditions = DeviceConditions(V1, [Incident("offline", ("d",), 600.0, 1200.0)])
    inner = _Counting()
    transport = FailingTransport(inner, lambda: conditions.offline(t_s))
    if offline:
        with pytest.raises(SimulatedOutageError) as caught:
            transport.post("http://server/v1/metrics", b"x", {}, 1.0)
        assert isinstance(caught.value, OSError)
        assert (inner.calls, transport.failed, transport.sent) == (0, 1, 0)
    else:
        assert transport.post("http://server/v1/metrics", b"x", {}, 1.0).status == 200
        assert (inner.calls, transport.failed, transport.sent) == (1, 0, 1)


def test_failing_transport_recovers_after_the_outage(server: str) -> None:
    now = [0.0]
    conditions = DeviceConditions(V1, [Incident("offline", ("d",), 10.0, 20.0)])
    transport = FailingTransport(HttpTransport(), lambda: conditions.offline(now[0]))
    results = []
    for t in (5.0, 15.0, 25.0):
        now[0] = t
        try:
            results.append(transport.post(f"{server}/v1/metrics", b"b", {}, 5).status)
        except OSError:
            results.append("down")
    assert results == [200, "down", 200]
    assert len(_Handler.received) == 2
