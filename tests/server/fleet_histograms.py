"""Feature histograms of several devices stored through OTLP conversion and the writer, and
the bucket-for-bucket comparison, for the fleet-merge and pre-merged store tests."""

from __future__ import annotations

import time

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import exp_metric, exp_point, kv, resource_attributes

from edgewatch.collector import semconv
from edgewatch.detectors import ExpHistogram
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Store

CAP = 2**63 - 1
"""The largest count int64 holds: merged counts are held here, never wrapped."""
_LIMITER = CardinalityLimiter(max_series_per_metric=10_000, max_series_per_device=100)
"""One limiter for every export, as one server has; its caps are far above these tests'."""


def near_cap(lo: float, hi: float) -> ExpHistogram:
    """Two buckets of ``CAP // 2`` each (values ``lo`` to ``hi``): one device's counts whose
    merge with any other's passes what int64 holds."""
    return ExpHistogram(
        0, 0, 3, np.array([CAP // 2, CAP // 2], np.int64), 0, np.zeros(0, np.int64),
        CAP - 1, 1.0, lo, hi,
    )  # fmt: skip


def export_features(
    store: Store,
    device: str,
    at_s: float,
    features: dict[str, ExpHistogram],
    *,
    fleet: str = "fleet-a",
    model_version: str = "1.0.0",
    received_s: float | None = None,
) -> None:
    """One export of ``device``: each feature's histogram over the minute ending at ``at_s``,
    converted as the server converts it (received at ``received_s``, now by default) and
    committed; none may be rejected."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(
        resource_attributes(device, fleet=fleet, model_version=model_version)
    )
    end_ns = int(at_s * 1e9)
    points = [
        exp_point(h, end_ns - 60 * 10**9, end_ns, [kv(semconv.FEATURE_NAME, name)])
        for name, h in features.items()
    ]
    rm.scope_metrics.add().metrics.append(exp_metric(semconv.FEATURE_VALUE, "1", points))
    converted = convert(
        request,
        received_s=time.time() if received_s is None else received_s,
        limits=IngestLimits(),
        limiter=_LIMITER,
    )
    assert not converted.rejected
    store.submit(converted.batch).result(30)


def assert_same(got: ExpHistogram, want: ExpHistogram) -> None:
    """Equal scale, buckets, counts and extremes; the sum up to float rounding."""
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
    assert np.array_equal([got.min, got.max], [want.min, want.max], equal_nan=True)
