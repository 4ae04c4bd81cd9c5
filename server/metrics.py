"""Prometheus metrics of one app, in their own registry so several apps can live in a process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edgewatch.server.fleet_metrics import DeviceInferences, DeviceLastSeen
from edgewatch.server.store import Batch, StoreError, StoreProtocol

log = logging.getLogger(__name__)


class _OnlineDevices(Collector):
    """``edgewatch_devices_online{model_name, model_version}`` read from the registry at scrape."""

    def __init__(self, store: Callable[[], StoreProtocol | None]) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "edgewatch_devices_online",
            "Devices seen within the online threshold, per model version.",
            labels=["model_name", "model_version"],
        )
        store = self._store()
        if store is not None and store.ready:
            try:
                for name, version, n in store.online_by_version():
                    family.add_metric([name, version], n)
            except StoreError as e:
                log.warning("cannot count online devices: %s", e)
        yield family


class _WithoutCreated(Collector):
    """A registry as scraped, without the ``_created`` samples prometheus-client adds to
    counters and histograms: Prometheus stores each as a series of its own (a gauge of when
    the process started), which only clutters queries and metric browsers."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():
            if metric.type in _WITH_CREATED:
                created = metric.name + "_created"
                metric.samples = [s for s in metric.samples if s.name != created]
            yield metric


_WITH_CREATED = frozenset({"counter", "histogram", "summary"})


class ServerMetrics:
    """Every metric the server exports on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._store: StoreProtocol | None = None
        r = self.registry
        self.requests = Counter(
            "edgewatch_ingest_requests", "OTLP export requests by outcome.", ["outcome"], registry=r
        )
        self.points = Counter(
            "edgewatch_ingest_points",
            "Data points received by outcome (stored, rejected, duplicate).",
            ["outcome"],
            registry=r,
        )
        self.rejected = Counter(
            "edgewatch_ingest_rejected_points",
            "Data points rejected by reason.",
            ["reason"],
            registry=r,
        )
        self.commit_seconds = Histogram(
            "edgewatch_writer_commit_seconds",
            "Duration of one group commit.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.committed_batches = Counter(
            "edgewatch_writer_batches", "Batches committed by the writer.", registry=r
        )
        queue_depth = Gauge(
            "edgewatch_writer_queue_depth", "Batches waiting for the writer.", registry=r
        )
        queue_depth.set_function(lambda: float(self._store.queue_depth) if self._store else 0.0)
        r.register(_OnlineDevices(lambda: self._store))
        r.register(DeviceLastSeen(lambda: self._store))
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes...
        PlatformCollector(registry=r)  # python_info
        GCCollector(registry=r)  # python_gc_*
        self.device_inferences = DeviceInferences(r)
        self.exposed: Collector = _WithoutCreated(r)
        """What ``/metrics`` encodes: the registry less its ``_created`` samples."""

    def bind(self, store: StoreProtocol | None) -> None:
        """Read queue depth and devices online from ``store`` (None when closed)."""
        self._store = store

    def on_commit(self, seconds: float, batches: Sequence[Batch]) -> None:
        """Writer callback after each commit, with the batches as stored."""
        self.commit_seconds.observe(seconds)
        self.committed_batches.inc(len(batches))
        self.device_inferences.count(batches)
