"""Drops are counted durably on the device: a long outage that drops spooled batches, kill -9
and a restart, and a damaged counters file leave the collector's totals right, and the newest
batch the server receives carries them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from collector_otlp import Answer, OtlpServer, Received, points
from offline_collector import FEATURES, ROWS, SPOOL_MAX_BYTES, run_offline
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from edgewatch.collector import Monitor, semconv


def _by_reason(received: Received, name: str) -> dict[str, float]:
    return {
        kv.value.string_value: p.as_double
        for p in points([received], name)
        for kv in p.attributes
        if kv.key == semconv.REASON
    }


def _inferences(received: Sequence[Received]) -> int:
    return sum(p.as_int for p in points(received, semconv.INFERENCE_COUNT))


def _down_url() -> str:
    down = OtlpServer()
    url = down.url
    down.close()
    return url


def _counters(spool_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((spool_dir / "drops.json").read_text())
    return loaded


def test_drops_survive_kill_9_and_the_newest_batch_carries_the_true_total(
    tmp_path: Path,
) -> None:
    spool_dir = tmp_path / "spool"
    url = _down_url()
    first = run_offline(spool_dir, url, 24, seed=1)
    assert first.dropped > 0, "the outage was long enough to drop batches"
    assert _counters(spool_dir)["batches"] == {"spool_full": first.dropped}
    assert _counters(spool_dir)["inferences"] == {"spool_full": ROWS * first.dropped}

    second = run_offline(spool_dir, url, 24, seed=2)  # restarted after kill -9, same spool
    dropped = first.dropped + second.dropped
    assert second.dropped > 0
    assert _counters(spool_dir)["batches"] == {"spool_full": dropped}, "counting went on"

    up = OtlpServer()
    try:
        m = Monitor(
            "lossy",
            "v1",
            endpoint=up.url,
            device_id="lossy-1",
            spool_dir=spool_dir,
            features=FEATURES,
            samplers=[],
            start=False,
            spool_max_bytes=SPOOL_MAX_BYTES,
        )
        assert m.flush(timeout_s=10.0) is True  # its own batch may push out one more
        lost = m.stats()["lost.batches.spool_full"]
        m.close()
        received = list(up.received)
    finally:
        up.close()
    assert lost >= dropped
    recorded = ROWS * (first.built + second.built)
    # The oracle: what the devices recorded minus what arrived is what the counters say.
    assert recorded - _inferences(received) == ROWS * lost
    for newest in received[-2:]:  # flush()'s batch (counting what storing it pushed out), close()'s
        assert _by_reason(newest, semconv.BATCHES_DROPPED_TOTAL) == {"spool_full": lost}
        assert _by_reason(newest, semconv.DROPPED_TOTAL) == {"spool_full": ROWS * lost}
        assert next(points([newest], semconv.LAST_DROP)).as_double > 0


def test_every_spooled_batch_counts_the_batches_storing_it_pushed_out(tmp_path: Path) -> None:
    m = Monitor(
        "m", "v1", endpoint=_down_url(), spool_dir=tmp_path, features=FEATURES, samplers=[],
        start=False, timeout_s=0.05, spool_max_bytes=SPOOL_MAX_BYTES,
    )  # fmt: skip
    try:
        rng = np.random.default_rng(3)
        while m.stats()["batches.dropped"] < 3:
            for row in rng.normal(size=(ROWS, FEATURES)):
                m.record(row, latency_s=0.001)
            m.flush(timeout_s=0.01)
            newest = max((tmp_path / "batches").iterdir())
            request = ExportMetricsServiceRequest.FromString(gzip.decompress(newest.read_bytes()))
            carried = _by_reason(Received("", {}, request), semconv.BATCHES_DROPPED_TOTAL)
            dropped = m.stats()["batches.dropped"]
            assert carried == ({"spool_full": dropped} if dropped else {})
            assert newest.name.endswith(f".n{ROWS}.otlp.gz")
    finally:
        m.close(timeout_s=0.1)


def test_recorder_drops_and_quarantined_batches_are_counted_across_restarts(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    def monitor() -> Monitor:
        return Monitor(
            "m", "v1", endpoint=otlp_server.url, spool_dir=tmp_path, features=2, samplers=[],
            start=False,
        )  # fmt: skip

    m = monitor()
    for _ in range(3):
        m.record([1.0, 2.0, 3.0], latency_s=0.001)  # wrong length: dropped
    for _ in range(4):
        m.record([1.0, 2.0], latency_s=0.001)
    otlp_server.answers.append(Answer(400))  # rejected for good: quarantined
    m.flush(timeout_s=5.0)
    m.close()
    m = monitor()
    stats = m.stats()
    assert stats["lost.inferences.shape_mismatch"] == 3
    assert stats["lost.inferences.quarantined"] == 4
    assert stats["lost.batches.quarantined"] == 1
    assert m.flush(timeout_s=5.0)
    m.close()
    newest = otlp_server.received[-1]
    assert _by_reason(newest, semconv.DROPPED_TOTAL) == {"shape_mismatch": 3, "quarantined": 4}
    assert _by_reason(newest, semconv.BATCHES_DROPPED_TOTAL) == {"quarantined": 1}


def test_no_loss_sends_no_drop_gauges(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = Monitor(
        "m", "v1", endpoint=otlp_server.url, spool_dir=tmp_path, features=2, samplers=[],
        start=False,
    )  # fmt: skip
    m.record([1.0, 2.0], latency_s=0.001)
    assert m.flush(timeout_s=5.0)
    m.close()
    assert not (tmp_path / "drops.json").exists()
    for name in (semconv.DROPPED_TOTAL, semconv.BATCHES_DROPPED_TOTAL, semconv.LAST_DROP):
        assert not list(points([otlp_server.received[-1]], name))


def test_a_damaged_counters_file_never_stops_the_collector(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    partial = {"inferences": {"spool_full": 7, "bad": "x", "neg": -2}, "batches": [1]}
    for content in (b"\x00{not json", b"[1, 2]", b"[" * 100_000, json.dumps(partial).encode()):
        spool_dir = tmp_path / str(len(content))
        spool_dir.mkdir()
        (spool_dir / "drops.json").write_bytes(content)
        m = Monitor(
            "m", "v1", endpoint=otlp_server.url, spool_dir=spool_dir, features=2, samplers=[],
            start=False,
        )  # fmt: skip
        m.record([1.0], latency_s=0.001)  # dropped: the counters are written again
        assert m.flush(timeout_s=5.0)
        m.close()
        kept = 7 if content.startswith(b"{") else 0  # what could be read is kept
        expected = {"shape_mismatch": 1} | ({"spool_full": kept} if kept else {})
        assert _counters(spool_dir)["inferences"] == expected
        assert _by_reason(otlp_server.received[-1], semconv.DROPPED_TOTAL) == expected


def test_an_unwritable_counters_file_keeps_counting_in_memory(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    (tmp_path / "drops.json").mkdir()  # neither readable nor replaceable as a file
    m = Monitor(
        "m", "v1", endpoint=otlp_server.url, spool_dir=tmp_path, features=2, samplers=[],
        start=False,
    )  # fmt: skip
    m.record([1.0], latency_s=0.001)
    assert m.flush(timeout_s=5.0)
    m.close()
    assert m.stats()["lost.inferences.shape_mismatch"] == 1
    assert _by_reason(otlp_server.received[-1], semconv.DROPPED_TOTAL) == {"shape_mismatch": 1}
