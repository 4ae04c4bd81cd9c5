"""Per-device series on ``/metrics``, what a Prometheus user graphs and alerts on for the
fleet: inferences stored by outcome, and when each device last reported."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edgewatch.collector import semconv
from edgewatch.server.store import Batch, StoreError, StoreProtocol

log = logging.getLogger(__name__)

MAX_LABEL_SETS_PER_DEVICE = 32
"""(model, version, outcome) sets a device keeps on ``/metrics``. The values come from the
device, so one cycling through versions or outcomes would otherwise grow the page and the
server's memory without end; later sets count under ``OVERFLOW`` (as OpenTelemetry SDKs fold
series past their cardinality limit), so the device's total stays right."""
OVERFLOW = "_overflow"


@lru_cache(maxsize=1024)
def _outcome(attrs_json: str) -> str:
    """The ``ml.inference.outcome`` of a point's canonical attribute JSON ('' when absent)."""
    return str(json.loads(attrs_json).get(semconv.OUTCOME, ""))


class DeviceInferences:
    """``edgewatch_device_inferences_total{device_id, model_name, model_version, outcome}``:
    inferences the devices reported, counted as they are committed (cumulative senders'
    points as their deltas, resent batches once), since this server process started."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "edgewatch_device_inferences",
            "Inferences devices reported, by outcome, as stored since the server started.",
            ["device_id", "model_name", "model_version", "outcome"],
            registry=registry,
        )
        self._children: dict[tuple[str, str, str, str], Counter] = {}
        """Label sets already made (``labels()`` checks and locks on every call)."""
        self._sets_per_device: dict[str, int] = defaultdict(int)

    def count(self, batches: Sequence[Batch]) -> None:
        """Add the ``ml.inference.count`` points of committed ``batches``."""
        totals: dict[tuple[str, str, str, str], float] = defaultdict(float)
        for batch in batches:
            rows = batch.numeric
            found = [i for i, name in enumerate(rows.metric) if name == semconv.INFERENCE_COUNT]
            if not found:
                continue
            models = {
                d.device_id: (d.model_name or "", d.model_version or "") for d in batch.devices
            }
            for i in found:
                device = rows.device_id[i]
                model, version = models.get(device, ("", ""))
                totals[(device, model, version, _outcome(rows.attrs[i]))] += rows.value[i]
        for labels, value in totals.items():
            if value > 0:
                self._child(labels).inc(value)

    def _child(self, labels: tuple[str, str, str, str]) -> Counter:
        """The counter child of ``labels``, or the device's overflow child past its limit."""
        child = self._children.get(labels)
        if child is not None:
            return child
        device = labels[0]
        if self._sets_per_device[device] >= MAX_LABEL_SETS_PER_DEVICE:
            labels = (device, OVERFLOW, OVERFLOW, OVERFLOW)
            child = self._children.get(labels)
            if child is not None:
                return child
        else:
            self._sets_per_device[device] += 1
        child = self._children[labels] = self._counter.labels(*labels)
        return child


class DeviceLastSeen(Collector):
    """``edgewatch_device_last_seen_timestamp_seconds{device_id, fleet, model_name,
    model_version}`` of every device the registry holds, read at scrape, so a silent device
    keeps its old time: ``time() - ...`` is how long it has been silent."""

    def __init__(self, store: Callable[[], StoreProtocol | None]) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "edgewatch_device_last_seen_timestamp_seconds",
            "When the server last stored a batch from the device (unix seconds).",
            labels=["device_id", "fleet", "model_name", "model_version"],
        )
        store = self._store()
        if store is not None and store.ready:
            try:
                for device, fleet, model, version, seen in store.last_seen_by_device():
                    family.add_metric([device, fleet, model, version], seen)
            except StoreError as e:
                log.warning("cannot list devices for /metrics: %s", e)
        yield family
