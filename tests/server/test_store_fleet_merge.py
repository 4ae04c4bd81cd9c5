"""The server's fleet-drift read end to end: histograms ingested from several devices through
the OTLP conversion and writer, then ``store.merged_histograms`` by feature, equal the library's
``merge_all`` of each feature's device histograms (different scales, empty histograms), and one
device's counts near the int64 cap in one feature change no other feature's result."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import exp_metric, exp_point, kv, resource_attributes

from edgewatch.collector import semconv
from edgewatch.detectors import ExpHistogram, empty, from_values, merge_all
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Selection, Store, StoreConfig

_CAP = 2**63 - 1
_LIMITER = CardinalityLimiter(max_series_per_metric=1_000, max_series_per_device=100)


def _export(store: Store, device: str, features: dict[str, ExpHistogram], end_s: float) -> None:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device))
    end_ns = int(end_s * 1e9)
    points = [
        exp_point(h, end_ns - 60 * 10**9, end_ns, [kv(semconv.FEATURE_NAME, name)])
        for name, h in features.items()
    ]
    rm.scope_metrics.add().metrics.append(exp_metric(semconv.FEATURE_VALUE, "1", points))
    converted = convert(request, received_s=end_s, limits=IngestLimits(), limiter=_LIMITER)
    assert not converted.rejected
    store.submit(converted.batch).result(30)


def _same(got: ExpHistogram, want: ExpHistogram) -> None:
    assert (got.scale, got.zero_count, got.count) == (want.scale, want.zero_count, want.count)
    assert (got.positive_offset, got.positive_counts.tolist()) == (
        want.positive_offset,
        want.positive_counts.tolist(),
    )
    assert (got.negative_offset, got.negative_counts.tolist()) == (
        want.negative_offset,
        want.negative_counts.tolist(),
    )
    assert np.isclose(got.sum, want.sum, rtol=1e-12)


def test_fleet_merge_by_feature_is_merge_all_and_one_device_cannot_change_another_feature(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    end_s = time.time()
    sent: dict[str, list[ExpHistogram]] = {"f0": [], "f1": []}
    with Store.open(tmp_path / "s.duckdb", StoreConfig(maintenance=False)) as store:
        for d in range(6):
            f0 = from_values(rng.normal(d, 1 + d, 50 + 40 * d), max_buckets=(8, 40, 160)[d % 3])
            f1 = empty() if d == 2 else from_values(rng.lognormal(0, 1, 30), max_buckets=20)
            sent["f0"].append(f0)
            sent["f1"].append(f1)
            _export(store, f"dev-{d}", {"f0": f0, "f1": f1}, end_s)

        def read() -> dict[str, ExpHistogram]:
            return store.merged_histograms(
                semconv.FEATURE_VALUE,
                semconv.FEATURE_NAME,
                start=datetime.fromtimestamp(end_s - 600, UTC),
                end=datetime.fromtimestamp(end_s + 1, UTC),
                selection=Selection(),
            )

        before = read()
        for name, histograms in sent.items():
            _same(before[name], merge_all(histograms))
        huge = ExpHistogram(0, 0, 3, np.array([_CAP // 2, _CAP // 2], np.int64), 0,
                            np.zeros(0, np.int64), _CAP - 1, 1.0, 1.0, 2.0)  # fmt: skip
        _export(store, "dev-huge", {"f1": huge}, end_s)
        _export(store, "dev-huge-2", {"f1": huge}, end_s)
        after = read()
    _same(after["f0"], before["f0"])
    assert after["f1"].count == _CAP  # held at the cap, neither wrapped nor an error
    assert int(after["f1"].positive_counts.max()) == _CAP
