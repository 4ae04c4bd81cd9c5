"""What an evaluation reads: the store's histograms, series, counts and baselines for one
member and window, plus the parsed signal expressions rules name."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from edgewatch.collector import semconv
from edgewatch.detectors import CategoricalCounts, ExpHistogram, empty
from edgewatch.server.alert import ScopeLevel
from edgewatch.server.detect._members import Member, members
from edgewatch.server.detect._profile import sample_of
from edgewatch.server.detect._time_scale import REAL_TIME, TimeScale
from edgewatch.server.store import (
    BaselineInfo,
    BaselineStore,
    Device,
    ModelProfile,
    NotFoundError,
    SeriesQuery,
    SignalStore,
    StoreProtocol,
    newest_for,
)

_SIGNAL = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(?:\{([^}]*)\})?\s*$")
_PAIR = re.compile(r'\s*([A-Za-z0-9_.]+)\s*=\s*"([^"]*)"\s*')


@dataclass(frozen=True, slots=True)
class Signal:
    """A metric with optional point-attribute filters, e.g. ``ml.inference.count{outcome="error"}``."""

    metric: str
    attributes: tuple[tuple[str, str], ...] = ()


def parse_signal(text: str) -> tuple[Signal, Signal | None]:
    """``A`` or ``A/B`` (a ratio of two signals); ``ValueError`` naming the bad part."""
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"signal {text!r}: at most one '/' (a ratio of two signals)")
    parsed = []
    for part in parts:
        match = _SIGNAL.match(part)
        if match is None:
            raise ValueError(f'signal {part!r} must look like metric or metric{{key="value"}}')
        attrs = []
        for item in filter(None, (match.group(2) or "").split(",")):
            pair = _PAIR.fullmatch(item)
            if pair is None:
                raise ValueError(f'signal {part!r}: attribute filter {item!r} must be key="value"')
            attrs.append((pair.group(1), pair.group(2)))
        parsed.append(Signal(match.group(1), tuple(attrs)))
    return parsed[0], parsed[1] if len(parsed) == 2 else None


@dataclass(frozen=True, slots=True)
class Window:
    """An evaluation window in unix seconds, ``(start_s, end_s]``: the detectors' seasonal
    arithmetic works on numbers; ``start`` and ``end`` are the instants the store takes."""

    start_s: float
    end_s: float

    @property
    def start(self) -> datetime:
        """``start_s`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.start_s, UTC)

    @property
    def end(self) -> datetime:
        """``end_s`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.end_s, UTC)

    @property
    def length_s(self) -> float:
        """Window length."""
        return self.end_s - self.start_s

    def minutes(self, step_s: float = 60.0) -> Window:
        """The window with both ends moved back to whole steps (minutes), so a 30-minute
        window holds 30 one-minute buckets instead of a partial one at each end (the rollups'
        buckets start on whole minutes; under a rule time scale a step is a scaled minute)."""
        return Window(
            math.floor(self.start_s / step_s) * step_s, math.floor(self.end_s / step_s) * step_s
        )

    def before(self, length_s: float) -> Window:
        """The window of ``length_s`` that ends where this one starts."""
        return Window(self.start_s - length_s, self.start_s)


class Context:
    """StoreProtocol reads for one scheduler tick; baselines are cached for the tick."""

    def __init__(
        self,
        store: StoreProtocol,
        now_s: float,
        devices: Sequence[Device],
        scale: TimeScale = REAL_TIME,
    ) -> None:
        self.store = store
        # Series steps, default reference windows and seasons follow the rule time scale.
        self.scale = scale
        self.now_s = now_s
        self.devices = tuple(devices)
        self._baseline_cache: dict[tuple[str, str, str | None], BaselineInfo | None] = {}
        # A version's baseline list and each baseline (with its profiles) are read once a
        # tick, not once per device, and each reference profile is decoded once.
        self._baseline_lists: dict[tuple[str, str], list[BaselineInfo]] = {}
        self._baselines_by_id: dict[str, BaselineInfo] = {}
        self._samples: dict[tuple[str, str, str], ExpHistogram | CategoricalCounts] = {}
        # Values evaluators share within one tick (each device's p95, read once for its peers).
        self.memo: dict[Hashable, object] = {}

    @property
    def signals(self) -> SignalStore:
        """The store's category counts and reported attribute values."""
        return self.store.signals

    @property
    def baselines(self) -> BaselineStore:
        """The store's baselines."""
        return self.store.baselines

    def baseline(self, member: Member) -> BaselineInfo | None:
        """The newest baseline for the member's model version (a device's own pin first)."""
        model, version = member.get("model"), member.get("version")
        if model is None or version is None:
            return None
        key = (model, version, member.get("device"))
        if key not in self._baseline_cache:
            self._baseline_cache[key] = self._newest(model, version, key[2])
        return self._baseline_cache[key]

    def _newest(self, model: str, version: str, device_id: str | None) -> BaselineInfo | None:
        """``baselines.latest`` through the tick's cache of lists and baselines."""
        if (model, version) not in self._baseline_lists:
            self._baseline_lists[model, version] = self.baselines.list(model, version)
        chosen = newest_for(self._baseline_lists[model, version], device_id)
        if chosen is None:
            return None
        if chosen.id not in self._baselines_by_id:
            self._baselines_by_id[chosen.id] = self.baselines.get(chosen.id)
        return self._baselines_by_id[chosen.id]

    def reference(
        self, member: Member, name: str, kinds: tuple[str, ...]
    ) -> tuple[ExpHistogram | CategoricalCounts, str] | None:
        """The baseline's profile ``name`` of one of ``kinds``, with the baseline id."""
        info = self.baseline(member)
        if info is None:
            return None
        for row in info.profiles:
            if row.name == name and row.kind in kinds:
                key = (info.id, row.name, row.kind)
                if key not in self._samples:
                    self._samples[key] = sample_of(row)
                return self._samples[key], info.id
        return None

    def histogram(self, member: Member, signal: Signal, window: Window) -> ExpHistogram:
        """Merged histogram of a histogram metric over the member's devices (empty when the
        metric was never stored)."""
        try:
            return self.store.merged_histogram(
                signal.metric,
                start=window.start,
                end=window.end,
                selection=member.selection,
                attributes=signal.attributes,
            )
        except NotFoundError:
            return empty()

    def histograms(
        self, member: Member, signal: Signal, by: str, window: Window
    ) -> dict[str, ExpHistogram]:
        """``histogram`` for each value of the point attribute ``by`` (each feature) in one
        query; values without data in the window are absent, as is an unknown metric."""
        try:
            return self.store.merged_histograms(
                signal.metric,
                by,
                start=window.start,
                end=window.end,
                selection=member.selection,
                attributes=signal.attributes,
            )
        except NotFoundError:
            return {}

    def counts(
        self,
        member: Member,
        metric: str,
        key: str,
        window: Window,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> CategoricalCounts:
        """Category counts of a delta counter per value of the attribute ``key``."""
        return CategoricalCounts(
            self.signals.category_counts(
                metric,
                key,
                start=window.start,
                end=window.end,
                selection=member.selection,
                attributes=attributes,
            )
        )

    def counts_by(
        self, member: Member, metric: str, key: str, by: str, window: Window
    ) -> dict[str, CategoricalCounts]:
        """``counts`` for each value of the point attribute ``by`` (each categorical feature)
        in one query; values without counts in the window are absent."""
        grouped = self.signals.category_counts_by(
            metric,
            key,
            by,
            start=window.start,
            end=window.end,
            selection=member.selection,
        )
        return {value: CategoricalCounts(counts) for value, counts in grouped.items()}

    def series(
        self, member: Member, signal: Signal, window: Window, step_s: float, agg: str | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Bucketed series; buckets without data are absent (never zero)."""
        try:
            result = self.store.series(
                SeriesQuery(
                    signal.metric,
                    window.start,
                    window.end,
                    step_s,
                    member.selection,
                    signal.attributes,
                    agg,
                )
            )
        except NotFoundError:
            return np.empty(0), np.empty(0)
        times = np.fromiter((t.timestamp() for t in result.times), np.float64, len(result.times))
        return times, np.asarray(result.values, dtype=np.float64)

    def peers(self, member: Member) -> list[Member]:
        """Device members on the same model version and hardware class as ``member`` (itself
        included): a Raspberry Pi 4 is never judged against Jetsons running the same model."""
        hardware = member.device.hardware if member.device is not None else None
        return [
            m
            for m in members(ScopeLevel.DEVICE, self.devices)
            if m.get("model") == member.get("model")
            and m.get("version") == member.get("version")
            and (m.device.hardware if m.device is not None else None) == hardware
        ]

    def version_since(self, device_id: str) -> float | None:
        """When the device started on the model version it runs now (its first report, or
        its last switch), from the stored version spans; None for a device without one."""
        key = "version_since"
        if key not in self.memo:
            since: dict[str, float] = {}
            for span in self.store.version_spans():
                since[span.device_id] = span.since.timestamp()  # spans come in time order
            self.memo[key] = since
        table: dict[str, float] = self.memo[key]  # type: ignore[assignment]
        return table.get(device_id)

    def profile(self, model: str, version: str, hardware: str | None) -> ModelProfile | None:
        """The uploaded profile of ``version`` on the hardware class, if any (read once a tick)."""
        key = ("profiles", model)
        if key not in self.memo:
            self.memo[key] = self.store.profiles.list(model)
        profiles: list[ModelProfile] = self.memo[key]  # type: ignore[assignment]
        for p in profiles:
            if p.model_version == version and p.hardware_class == hardware:
                return p
        return None

    def versions(self, member: Member) -> list[Member]:
        """Version members of the same model as ``member``."""
        return [
            m
            for m in members(ScopeLevel.VERSION, self.devices)
            if m.get("model") == member.get("model")
        ]

    def features(self, member: Member, metric: str) -> list[str]:
        """Features the member's devices report for ``metric``."""
        return self.signals.feature_names(metric, member.selection)


FEATURE_KEY = semconv.FEATURE_NAME
CATEGORY_KEY = semconv.FEATURE_CATEGORY
CLASS_KEY = semconv.PREDICTION_CLASS
