"""A real HTTP server on 127.0.0.1 for the sampling tests: records every request (method,
path, body) and answers the config GET from ``config`` (or ``config_status``)."""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from edgewatch.collector import semconv


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingServer:
    """Answers POSTs 200 and the device config GET with ``config`` as JSON."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.config: dict[str, Any] = {"sampling": {"enabled": True}}
        self.config_status = 200
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _record(self, body: bytes) -> None:
                with server.lock:
                    server.requests.append(
                        Request(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._record(gzip.decompress(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self._record(b"")
                data = json.dumps(server.config).encode()
                self.send_response(server.config_status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.closed = False

    def paths(self, method: str | None = None) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests if method is None or r.method == method]

    def logs(self) -> list[ExportLogsServiceRequest]:
        """Every ``/v1/logs`` request, decoded."""
        with self.lock:
            bodies = [r.body for r in self.requests if r.path == semconv.LOGS_PATH]
        return [ExportLogsServiceRequest.FromString(b) for b in bodies]

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [r.body for r in self.requests]

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("condition not met in time")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
