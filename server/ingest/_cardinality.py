"""Attribute-cardinality caps: distinct series per (device, metric) and per device."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import Enum


class Admission(Enum):
    """A series is known, new (and now registered), or over a cap (never stored)."""

    KNOWN = "known"
    NEW = "new"
    OVER_METRIC_CAP = "over_metric_cap"
    OVER_DEVICE_CAP = "over_device_cap"


class CardinalityLimiter:
    """Remembers every admitted series; refuses new ones beyond the caps."""

    def __init__(
        self,
        *,
        max_series_per_metric: int,
        max_series_per_device: int,
        known: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        self._per_metric = max_series_per_metric
        self._per_device = max_series_per_device
        self._lock = threading.Lock()
        self._devices: dict[str, dict[str, set[str]]] = {}
        self._totals: dict[str, int] = {}
        for device, metric, attrs in known:
            self._devices.setdefault(device, {}).setdefault(metric, set()).add(attrs)
            self._totals[device] = self._totals.get(device, 0) + 1

    def admit(self, device: str, metric: str, attrs: str) -> Admission:
        """Admit one series (registering it when new and under the caps)."""
        # Lock-free fast path for the common case, a series seen before: dicts and sets only
        # ever grow and single lookups are atomic under the GIL, so a hit here is final.
        metrics = self._devices.get(device)
        if metrics is not None:
            series = metrics.get(metric)
            if series is not None and attrs in series:
                return Admission.KNOWN
        with self._lock:
            metrics = self._devices.setdefault(device, {})
            series = metrics.setdefault(metric, set())
            if attrs in series:
                return Admission.KNOWN
            if len(series) >= self._per_metric:
                return Admission.OVER_METRIC_CAP
            if self._totals.get(device, 0) >= self._per_device:
                return Admission.OVER_DEVICE_CAP
            series.add(attrs)
            self._totals[device] = self._totals.get(device, 0) + 1
            return Admission.NEW
