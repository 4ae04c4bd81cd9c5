"""Model performance of a selection over a window: realized metrics from the label counts the
devices joined, and accuracy estimated without labels from the score histograms and each
version's calibration, over time, per device and per version.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from edgewatch.collector import semconv
from edgewatch.detectors import (
    AccuracyEstimate,
    Calibration,
    ClassificationMetrics,
    RegressionMetrics,
    Verdict,
    classification_metrics,
    estimate_accuracy,
    regression_metrics,
)
from edgewatch.server.performance._calibrate import version_calibration
from edgewatch.server.store import (
    ConfusionCell,
    ErrorSums,
    GroupCount,
    InvalidQueryError,
    NotFoundError,
    PerformanceStore,
    Selection,
    StoreProtocol,
)

DEFAULT_BUCKETS = 24
MAX_BUCKETS = 200
MAX_OUTSIDE_SHARE = 0.2
"""Share of a window's scores beyond the reference's score range above which its estimate is
flagged unreliable: there the calibration map only extrapolates its end values."""
MAX_DRIFT_SHARE = 0.3
"""Share of a version's features judged drifted in the window above which its estimate is
flagged unreliable: the calibration assumes P(right | score) did not change, which input drift
(a new kind of input, an unseen class) breaks."""


@dataclass(frozen=True, slots=True)
class PerformanceRow:
    """Performance of one time bucket, device or version (or the whole selection)."""

    start: datetime
    end: datetime
    device_id: str | None
    model_version: str | None
    inferences: int
    labelled: int
    coverage: float | None
    """Labelled share of the inferences (None without inferences)."""
    classification: ClassificationMetrics | None
    regression: RegressionMetrics | None
    estimate: AccuracyEstimate | None
    estimate_reliable: bool | None
    """False when input drift is large in the window or many scores fall beyond the reference's
    range; None without an estimate."""


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """The Performance view of one selection and window."""

    start: datetime
    end: datetime
    step_s: float
    task: str
    """classification, regression, or none (no labels in the window)."""
    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    """Confusion counts over the window, ``matrix[predicted][actual]`` in ``labels`` order."""
    total: PerformanceRow
    series: tuple[PerformanceRow, ...]
    devices: tuple[PerformanceRow, ...]
    versions: tuple[PerformanceRow, ...]
    calibrated_versions: tuple[str, ...]
    drift_share: float | None


def label_order(labels: Iterable[str]) -> tuple[str, ...]:
    """Classes sorted, ``__other__`` last."""
    labels = list(labels)
    known = sorted({x for x in labels if x != semconv.OTHER_CATEGORY})
    return (
        (*known, semconv.OTHER_CATEGORY) if semconv.OTHER_CATEGORY in set(labels) else tuple(known)
    )


def _matrix(cells: Sequence[ConfusionCell], labels: Sequence[str]) -> list[list[int]]:
    index = {x: i for i, x in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for c in cells:
        m[index[c.predicted]][index[c.actual]] += c.count
    return m


def _combine(
    parts: Sequence[AccuracyEstimate], z: float = 1.959963984540054
) -> AccuracyEstimate | None:
    """Count-weighted mixture of per-version estimates (independent errors)."""
    parts = [p for p in parts if p.count]
    if not parts:
        return None
    n = sum(p.count for p in parts)
    accuracy = sum(p.count * p.accuracy for p in parts) / n
    std = math.sqrt(sum((p.count / n) ** 2 * p.std**2 for p in parts))
    outside = sum(p.count * p.outside for p in parts) / n
    low, high = max(0.0, accuracy - z * std), min(1.0, accuracy + z * std)
    map_variance = sum((p.count / n) ** 2 * p.map_variance for p in parts)
    return AccuracyEstimate(n, accuracy, std, low, high, outside, map_variance)


class _Builder:
    def __init__(
        self,
        store: StoreProtocol,
        selection: Selection,
        start: datetime,
        end: datetime,
        max_drift_share: float,
    ) -> None:
        self.store = store
        self.selection = selection
        self.start = start
        self.end = end
        self.reader = store.performance
        self.members = self.reader.members(selection)
        self.pairs = sorted({(m, v) for _, m, v in self.members if m and v})
        self.calibrations: dict[tuple[str, str], Calibration] = {}
        for pair in self.pairs:
            cal = version_calibration(store, *pair)
            if cal is not None:
                self.calibrations[pair] = cal
        self.drift = {pair: self._drift_share(*pair) for pair in self.calibrations}
        self.max_drift_share = max_drift_share

    def _drift_share(self, model: str, version: str) -> float | None:
        rows = self.store.evaluations.query(
            start=self.start,
            end=self.end,
            model_name=model,
            model_version=version,
        )
        judged = [r for r in rows if r.feature and r.verdict != Verdict.INSUFFICIENT_DATA.value]
        if not judged:
            return None
        return sum(r.verdict == Verdict.DRIFT.value for r in judged) / len(judged)

    def estimate(
        self, selection: Selection, start: datetime, end: datetime
    ) -> tuple[AccuracyEstimate | None, bool | None]:
        parts = []
        reliable = True
        for (model, version), cal in self.calibrations.items():
            if selection.model_version not in (None, version):
                continue
            sel = replace(selection, model_name=model, model_version=version)
            try:
                h = self.store.merged_histogram(
                    semconv.PREDICTION_SCORE, start=start, end=end, selection=sel
                )
            except (NotFoundError, InvalidQueryError):
                continue
            est = estimate_accuracy(h, cal)
            if est.count:
                parts.append(est)
                share = self.drift.get((model, version))
                reliable = reliable and (share is None or share <= self.max_drift_share)
                reliable = reliable and est.outside <= MAX_OUTSIDE_SHARE
        combined = _combine(parts)
        return combined, (None if combined is None else reliable)

    def row(
        self,
        *,
        start: datetime,
        end: datetime,
        cells: Sequence[ConfusionCell],
        errors: Sequence[ErrorSums],
        inferences: float,
        selection: Selection,
        device_id: str | None = None,
        model_version: str | None = None,
    ) -> PerformanceRow:
        classification = None
        labelled = 0
        if cells:
            labels = label_order([c.predicted for c in cells] + [c.actual for c in cells])
            classification = classification_metrics(_matrix(cells, labels), labels)
            labelled += classification.count
        regression = None
        if errors:
            regression = regression_metrics(
                sum(e.count for e in errors),
                sum(e.error_sum for e in errors),
                sum(e.abs_error_sum for e in errors),
                sum(e.squared_error_sum for e in errors),
            )
            labelled += regression.count
        n = round(inferences)
        estimate, reliable = self.estimate(selection, start, end)
        return PerformanceRow(
            start=start,
            end=end,
            device_id=device_id,
            model_version=model_version,
            inferences=n,
            labelled=labelled,
            coverage=min(1.0, labelled / n) if n else None,
            classification=classification,
            regression=regression,
            estimate=estimate,
            estimate_reliable=reliable,
        )

    def group_row(
        self,
        groups: _Groups,
        k: Any,
        *,
        start: datetime,
        end: datetime,
        selection: Selection,
        device_id: str | None = None,
        model_version: str | None = None,
    ) -> PerformanceRow:
        """``row`` of the group ``k`` of ``groups`` (no reads of a group count as none)."""
        return self.row(
            start=start,
            end=end,
            cells=groups.cells.get(k, []),
            errors=groups.errors.get(k, []),
            inferences=sum(c.value for c in groups.counts.get(k, [])),
            selection=selection,
            device_id=device_id,
            model_version=model_version,
        )


_Item = TypeVar("_Item", ConfusionCell, ErrorSums, GroupCount)


def _by(items: Iterable[_Item], key: str) -> dict[Any, list[_Item]]:
    """Items grouped by one of their fields (``bucket`` or ``group``)."""
    out: dict[Any, list[_Item]] = {}
    for item in items:
        out.setdefault(getattr(item, key), []).append(item)
    return out


@dataclass(frozen=True, slots=True)
class _Groups:
    """Label counts, error sums and inference counts of one window, grouped by ``bucket`` or
    ``group``."""

    cells: dict[Any, list[ConfusionCell]]
    errors: dict[Any, list[ErrorSums]]
    counts: dict[Any, list[GroupCount]]


def _grouped(reader: PerformanceStore, group: str, key: str, window: dict[str, Any]) -> _Groups:
    """The reader's three reads over ``window`` by ``group``, keyed by their field ``key``."""
    return _Groups(
        _by(reader.confusion(**window, group=group), key),
        _by(reader.errors(**window, group=group), key),
        _by(reader.inferences(**window, group=group), key),
    )


def window_performance(
    store: StoreProtocol,
    selection: Selection,
    *,
    start: datetime,
    end: datetime,
    max_drift_share: float = MAX_DRIFT_SHARE,
) -> tuple[PerformanceRow, float | None]:
    """Realized and estimated performance of ``selection`` over one window (what the rules
    judge), with the version's reference accuracy from its calibration when there is one."""
    if not end > start:
        raise InvalidQueryError(
            f"end ({end.isoformat()}) must be after start ({start.isoformat()})"
        )
    b = _Builder(store, selection, start, end, max_drift_share)
    whole: dict[str, Any] = {"start": start, "end": end, "step_s": (end - start).total_seconds()}
    row = b.row(
        start=start,
        end=end,
        cells=b.reader.confusion(**whole, selection=selection, group="none"),
        errors=b.reader.errors(**whole, selection=selection, group="none"),
        inferences=sum(
            c.value for c in b.reader.inferences(**whole, selection=selection, group="none")
        ),
        selection=selection,
    )
    references = [c.reference_accuracy for c in b.calibrations.values()]
    reference = sum(references) / len(references) if references else None
    return row, reference


def performance_report(
    store: StoreProtocol,
    selection: Selection,
    *,
    start: datetime,
    end: datetime,
    step_s: float | None = None,
    max_drift_share: float = MAX_DRIFT_SHARE,
) -> PerformanceReport:
    """Realized and estimated performance of ``selection`` over ``[start, end)``."""
    if not end > start:
        raise InvalidQueryError(
            f"end ({end.isoformat()}) must be after start ({start.isoformat()})"
        )
    width = (end - start).total_seconds()
    step = step_s or width / DEFAULT_BUCKETS
    if step <= 0 or width / step > MAX_BUCKETS:
        raise InvalidQueryError(f"step_s must give at most {MAX_BUCKETS} buckets, got {step_s}")
    b = _Builder(store, selection, start, end, max_drift_share)
    reader = b.reader
    whole: dict[str, Any] = {
        "start": start,
        "end": end,
        "step_s": width,
        "selection": selection,
    }
    cells = reader.confusion(start=start, end=end, step_s=width, selection=selection, group="none")
    errors = reader.errors(start=start, end=end, step_s=width, selection=selection, group="none")
    counts = reader.inferences(
        start=start, end=end, step_s=width, selection=selection, group="none"
    )
    total = b.row(
        start=start,
        end=end,
        cells=cells,
        errors=errors,
        inferences=sum(c.value for c in counts),
        selection=selection,
    )
    labels = label_order([c.predicted for c in cells] + [c.actual for c in cells])
    matrix = tuple(tuple(r) for r in _matrix(cells, labels))

    timed = {"start": start, "end": end, "step_s": step, "selection": selection}
    t = _grouped(reader, "none", "bucket", timed)
    series = []
    for k in range(math.ceil(width / step - 1e-9)):
        lo, hi = (
            start + timedelta(seconds=k * step),
            min(end, start + timedelta(seconds=(k + 1) * step)),
        )
        series.append(b.group_row(t, k, start=lo, end=hi, selection=selection))

    devices = []
    d = _grouped(reader, "device", "group", whole)
    for device_id, _, version in b.members:
        if device_id not in d.counts and device_id not in d.cells and device_id not in d.errors:
            continue
        devices.append(
            b.group_row(
                d,
                device_id,
                start=start,
                end=end,
                selection=Selection(device_id=device_id),
                device_id=device_id,
                model_version=version,
            )
        )

    versions = []
    v = _grouped(reader, "version", "group", whole)
    for version in sorted(set(v.counts) | set(v.cells) | set(v.errors), key=str):
        versions.append(
            b.group_row(
                v,
                version,
                start=start,
                end=end,
                selection=replace(selection, model_version=str(version) or None),
                model_version=str(version) or None,
            )
        )
    task = "classification" if cells else "regression" if errors else "none"
    shares = [s for s in b.drift.values() if s is not None]
    return PerformanceReport(
        start=start,
        end=end,
        step_s=step,
        task=task,
        labels=labels,
        matrix=matrix,
        total=total,
        series=tuple(series),
        devices=tuple(devices),
        versions=tuple(versions),
        calibrated_versions=tuple(sorted(v for _, v in b.calibrations)),
        drift_share=max(shares) if shares else None,
    )


def version_accuracy(
    store: StoreProtocol, model: str, version: str, *, start: datetime, end: datetime
) -> dict[str, float | int | bool | None]:
    """Realized and estimated accuracy of one version over a window, for version comparisons."""
    row, reference = window_performance(
        store, Selection(model_name=model, model_version=version), start=start, end=end
    )
    c, e = row.classification, row.estimate
    return {
        "labelled": row.labelled,
        "coverage": row.coverage,
        "realized": None if c is None else c.accuracy,
        "realized_low": None if c is None else c.accuracy_low,
        "realized_high": None if c is None else c.accuracy_high,
        "estimated": None if e is None else e.accuracy,
        "estimated_low": None if e is None else e.low,
        "estimated_high": None if e is None else e.high,
        "estimate_reliable": row.estimate_reliable,
        "reference": reference,
    }
