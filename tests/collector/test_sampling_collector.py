"""Opt-in sampled rows: off by default, deny lists, rounding, budgets over time, remote budgets."""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from collector_sampling_server import RecordingServer
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from edgewatch.collector import Monitor, SamplingConfig, Spool, semconv
from edgewatch.collector._reservoir import RowSampler
from edgewatch.collector._samples import SampleExporter
from edgewatch.collector._sampling import RemoteSampling, effective_budget

FEATURES = ["age", "ssn", "income"]


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    s = RecordingServer()
    yield s
    s.close()


def _monitor(server: RecordingServer, tmp_path: Path, **kw: Any) -> Monitor:
    return Monitor(
        "credit", "v1", endpoint=server.url, device_id="dev-1", features=FEATURES,
        categorical={"city": ["oslo", "rome"]}, spool_dir=tmp_path / "spool", samplers=[],
        start=False, **kw,
    )  # fmt: skip


def _rows(requests: list[ExportLogsServiceRequest]) -> list[dict[str, Any]]:
    out = []
    for request in requests:
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    attrs = {a.key: a.value.string_value for a in record.attributes}
                    assert attrs[semconv.EVENT_NAME] == semconv.SAMPLE_EVENT
                    body = {kv.key: kv.value for kv in record.body.kvlist_value.values}
                    features = {
                        kv.key: kv.value.double_value
                        if kv.value.HasField("double_value")
                        else kv.value.string_value
                        for kv in body[semconv.SAMPLE_FEATURES].kvlist_value.values
                    }
                    out.append(
                        {"features": features, "prediction": body["prediction"].string_value}
                    )
    return out


def _observe(monitor: Monitor, n: int) -> None:
    for i in range(n):
        row = {
            "age": 30.0 + i % 7 + 0.123456,
            "ssn": 123456789.0,
            "income": 5e4 + i,
            "city": "oslo",
        }
        with monitor.observe(row) as obs:
            obs.prediction("approve", score=0.8)


def test_sampling_is_off_by_default(server: RecordingServer, tmp_path: Path) -> None:
    monitor = _monitor(server, tmp_path)
    try:
        _observe(monitor, 500)
        assert monitor.flush(5.0)
    finally:
        monitor.close()
    assert server.paths("POST") == [semconv.METRICS_PATH, semconv.METRICS_PATH]
    assert server.paths("GET") == []  # no config polling either
    assert not any(k.startswith("samples.") for k in monitor.stats())


def test_denied_fields_never_leave_and_values_are_rounded(
    server: RecordingServer, tmp_path: Path
) -> None:
    sampling = SamplingConfig(rows_per_hour=3600, deny=["ssn"], round_digits=1, remote=False)
    monitor = _monitor(server, tmp_path, sampling=sampling)
    try:
        _observe(monitor, 2000)
        assert monitor.flush(5.0)
    finally:
        monitor.close()
    logs = server.logs()
    rows = _rows(logs)
    assert rows, "an enabled sampler sends rows"
    assert {tuple(sorted(r["features"])) for r in rows} == {("age", "city", "income")}
    assert all(r["features"]["age"] == round(r["features"]["age"], 1) for r in rows)
    assert all(r["prediction"] == "approve" for r in rows)
    for log in logs:
        assert b"ssn" not in log.SerializeToString()
        assert b"123456789" not in log.SerializeToString()
    post_keys = [r.headers["idempotency-key"] for r in server.requests if r.method == "POST"]
    assert len(set(post_keys)) == len(post_keys)


def test_config_errors_name_the_field(server: RecordingServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"sampling\.rows_per_hour must be an int >= 0"):
        SamplingConfig(rows_per_hour=-1)
    with pytest.raises(ValueError, match=r"sampling\.round_digits"):
        SamplingConfig(round_digits=99)
    with pytest.raises(ValueError, match=r"must not exceed sampling\.max_rows_per_hour"):
        SamplingConfig(rows_per_hour=10, max_rows_per_hour=5)
    with pytest.raises(ValueError, match=r"sampling\.poll_interval_s"):
        SamplingConfig(poll_interval_s=0)
    with pytest.raises(ValueError, match=r"sampling\.deny names unknown features: \['sn'\]"):
        _monitor(server, tmp_path, sampling=SamplingConfig(deny=["sn"]))
    with pytest.raises(ValueError, match="sampling must be a SamplingConfig"):
        _monitor(server, tmp_path, sampling={"rows_per_hour": 5})


def _spooled_rows(spool: Spool) -> int:
    n = 0
    while (batch := spool.oldest()) is not None:
        assert batch.signal == "logs"
        request = ExportLogsServiceRequest.FromString(gzip.decompress(spool.read(batch)))
        n += sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
        spool.remove(batch)
    return n


def test_budget_holds_over_hours_and_days(tmp_path: Path) -> None:
    now = [0.0]
    spool = Spool(tmp_path / "spool", 64 * 2**20)
    config = SamplingConfig(rows_per_hour=120, bytes_per_day=20_000, remote=False)
    exporter = SampleExporter(config, ["a", "b"], [], 60.0, spool, None, clock=lambda: now[0])
    per_interval = []
    for _ in range(6 * 60):  # six hours of one-minute intervals, 500 inferences each
        for i in range(500):
            exporter.sampler.offer(np.array([float(i), 2.0]), 1, None)
        now[0] += 60.0
        exporter.export({"device.id": "dev-1"})
        per_interval.append(_spooled_rows(spool))
    hourly = [sum(per_interval[h * 60 : (h + 1) * 60]) for h in range(6)]
    assert hourly[0] == 120, "the first hour gets its full budget"
    sent_bytes_cap_hit = sum(hourly)
    assert all(sum(per_interval[i : i + 60]) <= 120 for i in range(len(per_interval) - 59))
    assert exporter.sampler.bytes_left() < 100  # the day's bytes ran out
    assert sent_bytes_cap_hit < 6 * 120
    assert exporter.sampler.dropped_budget > 0


def test_reservoir_is_uniform_over_the_interval() -> None:
    now = [0.0]
    picked: list[float] = []
    for seed in range(300):
        sampler = RowSampler(
            SamplingConfig(rows_per_hour=3600), ["x"], [], 10.0, clock=lambda: now[0],
            rng=random.Random(seed),
        )  # fmt: skip
        sampler.offer(np.arange(1000, dtype=float).reshape(-1, 1), None, None)  # a batch
        now[0] += 10.0
        picked += [float(r.values["x"]) for r in sampler.take()]
    counts, _ = np.histogram(picked, bins=4, range=(0, 1000))
    assert len(picked) == 3000
    assert counts.min() > 0.8 * counts.mean()


def test_batches_and_reshaped_rows_are_sampled_per_row() -> None:
    sampler = RowSampler(SamplingConfig(rows_per_hour=3600), ["a", "b", "c", "d"], [], 60.0)
    sampler.offer(np.array([[1.0, 2.0], [3.0, 4.0]]), 7, None)  # 4 values, one row (2×2)
    sampler.offer(np.array([[5.0, 6.0, 7.0, 8.0]]), np.array([9]), np.array([0.5]))  # batch of 1
    sampler.offer([[9.0, 9.0, 9.0, 9.0], [1.0, 1.0, 1.0, 1.0]], ["x", "y"], None)  # list batch
    rows = sampler.take()
    assert [(r.values["a"], r.prediction) for r in rows] == [
        (1.0, "7"),
        (5.0, "9"),
        (9.0, "x"),
        (1.0, "y"),
    ]
    assert rows[1].score == 0.5


def test_invalid_rows_are_counted_not_raised(server: RecordingServer, tmp_path: Path) -> None:
    monitor = _monitor(server, tmp_path, sampling=SamplingConfig(rows_per_hour=3600, remote=False))
    try:
        for _ in range(50):
            monitor.record({"age": "old", "ssn": 1.0, "income": 2.0}, prediction=1, latency_s=0.001)
        stats = monitor.stats()
    finally:
        monitor.close()
    assert stats["samples.dropped.invalid"] >= 1


def test_budget_from_the_server_is_kept_while_it_is_down(
    server: RecordingServer, tmp_path: Path
) -> None:
    server.config = {"sampling": {"enabled": True, "rows_per_hour": 900, "bytes_per_day": None}}
    sampling = SamplingConfig(rows_per_hour=60, poll_interval_s=1)
    monitor = Monitor(
        "credit", "v1", endpoint=server.url, device_id="dev 1", features=FEATURES,
        spool_dir=tmp_path / "spool", samplers=[], sampling=sampling, token="secret",
    )  # fmt: skip
    try:
        server.wait_for(lambda: monitor.stats()["samples.rows_per_hour"] == 900)
        get = next(r for r in server.requests if r.method == "GET")
        assert get.path == "/api/v1/devices/dev%201/config"
        assert get.headers["authorization"] == "Bearer secret"
        server.config_status = 503
        server.wait_for(lambda: monitor.stats()["config.errors"] >= 1)
        server.close()
        server.wait_for(lambda: monitor.stats()["config.errors"] >= 2, timeout_s=15)
        assert monitor.stats()["samples.rows_per_hour"] == 900
    finally:
        monitor.close()


def test_a_raise_beyond_the_device_ceiling_is_clamped_and_ends_on_time(
    server: RecordingServer, tmp_path: Path
) -> None:
    soon = time.time() + 3600
    server.config = {"sampling": {"enabled": True, "rows_per_hour": 10**6, "expires_at_unix": soon}}
    sampling = SamplingConfig(rows_per_hour=60, max_rows_per_hour=600, poll_interval_s=1)
    monitor = _monitor(server, tmp_path, sampling=sampling)
    exporter = monitor._samples
    assert exporter is not None and exporter.poller is not None
    try:
        exporter.poll()
        assert monitor.stats()["samples.rows_per_hour"] == 600  # clamped to the ceiling
        local = effective_budget(sampling, exporter.poller.current, soon + 1)
        assert local.rows_per_hour == 60  # after the raise the device's own budget is back
        server.config = {
            "sampling": {
                "enabled": True,
                "rows_per_hour": 900,
                "expires_at": "1970-01-01T00:00:01Z",
            }
        }
        exporter.poller.next_at = 0.0
        exporter.poll()
        monitor.flush(5.0)  # an expired raise is ignored, even without another poll
        assert monitor.stats()["samples.rows_per_hour"] == 60
        server.config = {"sampling": {"enabled": "yes"}}
        exporter.poller.next_at = 0.0
        exporter.poll()
        assert exporter.poller.errors == 1
        assert exporter.poller.current is not None and exporter.poller.current.rows_per_hour == 900
    finally:
        monitor.close()


def test_logs_batches_keep_their_signal_across_restarts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 2**20)
    spool.put(b"metrics")
    spool.put(b"logs", signal="logs")
    again = Spool(tmp_path, 2**20)
    first = again.oldest()
    assert first is not None and first.signal == "metrics"
    again.remove(first)
    second = again.oldest()
    assert second is not None and second.signal == "logs"
    with pytest.raises(ValueError, match="signal"):
        again.put(b"x", signal="traces")


def test_the_raise_ends_when_the_server_says_in_rfc3339_or_the_older_unix_field() -> None:
    def parsed(**sampling: object) -> RemoteSampling:
        return RemoteSampling.parse({"sampling": {"enabled": True, **sampling}})

    at = "2026-12-04T12:00:00Z"
    assert parsed(expires_at=at).expires_at_unix == 1_796_385_600.0
    assert parsed(expires_at="2026-12-04T13:00:00+01:00").expires_at_unix == 1_796_385_600.0
    # expires_at wins; servers of the previous release send only expires_at_unix
    assert parsed(expires_at=at, expires_at_unix=5.0).expires_at_unix == 1_796_385_600.0
    assert parsed(expires_at_unix=1_796_385_600).expires_at_unix == 1_796_385_600.0
    assert parsed().expires_at_unix is None
    for bad, reason in (("tomorrow", "RFC 3339"), ("2026-12-04T12:00:00", "time zone"), (5, "RFC")):
        with pytest.raises(ValueError, match=reason):
            parsed(expires_at=bad)
