"""A light HTTP load client on raw asyncio streams (pre-built requests, no HTTP library), so
the client's own CPU stays small beside the server's: concurrent OTLP ingest, and a probe
that times requests on fresh connections the way a liveness probe makes them.

A plain module so tests and benchmarks can import it by name.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from otlp_wire import collector_body, device_batch


@dataclass
class LoadResult:
    """What the load connections got back, by HTTP status."""

    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def split_url(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def request(
    host: str,
    port: int,
    head: str,
    body: bytes = b"",
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request (on ``streams`` or a fresh connection); status, headers, body."""
    reader, writer = streams or await asyncio.open_connection(host, port)
    try:
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        payload = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, payload
    finally:
        if streams is None:
            writer.close()


def ingest_head(host: str, token: str, body: bytes) -> str:
    """The request head of one gzip protobuf OTLP export."""
    return (
        f"POST /v1/metrics HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: {secrets.token_hex(16)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )


def export_body(device_id: str) -> bytes:
    """One export interval of ``device_id``, as its collector sends it."""
    return collector_body(device_batch(device_id, end_ns=time.time_ns()))


async def ingest_load(
    url: str, token: str, body: bytes, *, connections: int, until: float
) -> LoadResult:
    """``connections`` keep-alive connections posting ``body`` back to back until ``until``
    (``time.monotonic()``); every request gets a fresh Idempotency-Key so all are stored."""
    host, port = split_url(url)
    result = LoadResult()

    async def one() -> None:
        streams = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < until:
                status, _, _ = await request(
                    host, port, ingest_head(host, token, body), body, streams
                )
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            streams[1].close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return result


async def probe(url: str, path: str, *, every_s: float, until: float) -> list[float]:
    """Seconds each ``GET path`` took on a fresh connection, one every ``every_s``; a
    status other than 200 fails."""
    host, port = split_url(url)
    latencies = []
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    while time.monotonic() < until:
        started = time.perf_counter()
        status, _, _ = await request(host, port, head)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise AssertionError(f"GET {path} answered {status}")
        await asyncio.sleep(every_s)
    return latencies


async def probe_under_load(
    url: str, token: str, *, path: str, connections: int, duration_s: float
) -> tuple[list[float], LoadResult]:
    """``path``'s latencies while ``connections`` connections post ingest for ``duration_s``."""
    body = export_body("load-device")
    until = time.monotonic() + duration_s
    load = asyncio.create_task(ingest_load(url, token, body, connections=connections, until=until))
    await asyncio.sleep(min(1.0, duration_s / 4))  # let the load build up first
    latencies = await probe(url, path, every_s=0.05, until=until)
    return latencies, await load
