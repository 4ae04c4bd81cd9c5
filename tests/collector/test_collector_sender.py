"""The sender against a real local HTTP server that fails in every way a server fails: 503 with
Retry-After, 500, 400 (quarantine), an answer slower than the timeout, then recovery."""

from __future__ import annotations

import email.utils
import random
import socket
from pathlib import Path

from collector_otlp import Answer, OtlpServer
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from edgewatch.collector import HttpTransport, Sender, Spool
from edgewatch.collector._encode import encode

BODY = encode(ExportMetricsServiceRequest())


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def _sender(spool: Spool, url: str, clock: FakeClock, **kw: object) -> Sender:
    return Sender(
        spool,
        HttpTransport(),
        url + "/v1/metrics",
        {"Content-Encoding": "gzip"},
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        rng=random.Random(3),
        **kw,  # type: ignore[arg-type]
    )


def test_retry_after_backoff_quarantine_timeout_and_recovery(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    spool = Spool(tmp_path, 1 << 20)
    first, second, third = (spool.put(BODY) for _ in range(3))
    assert first and second and third
    clock = FakeClock()
    sender = _sender(spool, otlp_server.url, clock, timeout_s=0.3)
    otlp_server.answers = [
        Answer(503, {"Retry-After": "7"}),
        Answer(500),
        Answer(400),
        Answer(200, delay_s=1.0),  # answered after the client gave up
    ]

    sender.send_ready()
    assert otlp_server.attempts == [503] and sender.failed == 1
    assert sender.retry_at - clock.t >= 7.0  # Retry-After is honoured
    sender.send_ready()  # still backing off: no request
    assert otlp_server.attempts == [503]

    clock.t = sender.retry_at
    sender.send_ready()
    assert otlp_server.attempts == [503, 500] and spool.depth == 3
    assert 0.0 <= sender.retry_at - clock.t <= 2.0  # second failure: jitter within base * 2

    clock.t = sender.retry_at
    sender.send_ready()  # 400 → quarantined; the next batch times out
    assert otlp_server.attempts == [503, 500, 400, 200]
    assert spool.quarantined == 1 and spool.depth == 2 and sender.failed == 3
    assert [p.name for p in spool.quarantine_dir.iterdir()] == [first.path.name]

    clock.t = sender.retry_at
    sender.send_ready()
    assert spool.depth == 0 and sender.sent == 2 and sender.failures_in_a_row == 0
    # The timed-out batch was stored by the server and resent with the same key: dedup by key.
    assert otlp_server.wait_for_requests(3)
    assert sorted(otlp_server.keys()) == sorted([second.key, second.key, third.key])
    assert sender.last_success_unix == 1_700_000_000.0


def test_retry_after_as_http_date(tmp_path: Path, otlp_server: OtlpServer) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.put(BODY)
    clock = FakeClock()
    sender = _sender(spool, otlp_server.url, clock)
    date = email.utils.formatdate(1_700_000_000.0 + 120, usegmt=True)
    otlp_server.answers = [Answer(429, {"Retry-After": date})]
    sender.send_ready()
    assert 120.0 <= sender.retry_at - clock.t <= 121.0


def test_network_errors_back_off_exponentially_with_full_jitter_and_a_cap(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    spool = Spool(tmp_path, 1 << 20)
    spool.put(BODY)
    clock = FakeClock()
    sender = _sender(spool, url, clock, backoff_base_s=1.0, backoff_max_s=20.0)
    delays = []
    for _ in range(10):
        clock.t = max(clock.t, sender.retry_at)
        sender.send_ready()
        delays.append(sender.retry_at - clock.t)
    ceilings = [min(20.0, 2.0**i) for i in range(10)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[5:]) > 4.0  # it does grow
    assert sender.failed == 10 and spool.depth == 1  # nothing is lost while the server is away


def test_drain_waits_out_backoff_within_its_deadline(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    spool = Spool(tmp_path, 1 << 20)
    for _ in range(3):
        spool.put(BODY)
    clock = FakeClock()
    sender = _sender(spool, otlp_server.url, clock)
    otlp_server.answers = [Answer(502), Answer(504)]
    assert sender.drain(timeout_s=60.0) is True
    assert len(clock.slept) == 2 and len(otlp_server.keys()) == 3
    otlp_server.answers = [Answer(503, {"Retry-After": "120"})]
    spool.put(BODY)
    assert sender.drain(timeout_s=60.0) is False  # the server asked for longer than the deadline
    assert spool.depth == 1


def test_spool_cap_drops_oldest_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 250)
    batches = [spool.put(bytes(100)) for _ in range(4)]
    assert spool.depth == 2 and spool.dropped == 2 and spool.size_bytes == 200
    assert spool.oldest() == batches[2]
    assert spool.put(bytes(300)) is None and spool.dropped == 3
    reopened = Spool(tmp_path, 250)  # a restart resumes the order and the keys
    assert [reopened.oldest()] == [batches[2]]
    assert reopened.put(bytes(10)).seq == 4  # type: ignore[union-attr]


def test_unparseable_retry_after_falls_back_to_backoff(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.put(BODY)
    clock = FakeClock()
    sender = _sender(spool, otlp_server.url, clock, backoff_base_s=1.0)
    otlp_server.answers = [Answer(503, {"Retry-After": "soon-ish"})]
    sender.send_ready()
    assert 0.0 <= sender.retry_at - clock.t <= 1.0 and spool.depth == 1
