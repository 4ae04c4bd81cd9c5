"""A real OTLP/HTTP test server on 127.0.0.1: records every request, answers from a script."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    request: ExportMetricsServiceRequest


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class OtlpServer:
    """Decodes each POST as gzip+protobuf; answers with the queued ``Answer``s, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts: list[int] = []
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server.lock:
                    answer = server.answers.pop(0) if server.answers else Answer()
                    server.attempts.append(answer.status)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if 200 <= answer.status < 300:
                    request = ExportMetricsServiceRequest.FromString(gzip.decompress(body))
                    with server.lock:
                        server.received.append(
                            Received(
                                self.path, {k.lower(): v for k, v in self.headers.items()}, request
                            )
                        )
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up on a slow answer is part of the tests

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def keys(self) -> list[str]:
        with self.lock:
            return [r.headers["idempotency-key"] for r in self.received]

    def wait_for_requests(self, n: int, timeout_s: float = 5.0) -> bool:
        """Wait until ``n`` accepted requests arrived (a slow handler may still be running)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.keys()) >= n:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def string_attributes(kvs: Any) -> dict[str, str]:
    """OTLP key-values as a dict of their string values."""
    return {kv.key: kv.value.string_value for kv in kvs}


def points(received: Sequence[Received], name: str) -> Iterator[Any]:
    """Every data point of the metric ``name`` in the received requests, in order."""
    for r in received:
        for rm in r.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        yield from getattr(m, m.WhichOneof("data")).data_points
