"""What ``edgewatch profile`` measured: frozen records, their JSON form, and summaries of arrays."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edgewatch.collector._energy import EnergyFigure, SourceStatus
from edgewatch.collector._thermal import ThermalSummary

HISTOGRAM_BINS = 20
"""Log-spaced latency bins between the fastest and slowest run: readable on a terminal."""
SCORE_BINS = 10
"""Equal-width score bins over [0, 1] (or the observed range for unbounded scores)."""


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Per-run latency distribution; ``histogram`` is (upper edge in s, runs) per bin."""

    runs: int
    p50_s: float
    p95_s: float
    p99_s: float
    mean_s: float
    min_s: float
    max_s: float
    histogram: tuple[tuple[float, int], ...]


@dataclass(frozen=True, slots=True)
class EnergySummary:
    """Energy per inference from the best source (the first figure), with every source tried."""

    inferences: int
    figures: tuple[EnergyFigure, ...]
    tried: tuple[SourceStatus, ...]

    @property
    def best(self) -> EnergyFigure | None:
        return self.figures[0] if self.figures else None

    @property
    def joules_per_inference(self) -> float | None:
        best = self.best
        return best.joules / self.inferences if best and self.inferences else None


@dataclass(frozen=True, slots=True)
class PredictionSummary:
    """The prediction mix and score distribution on the sample, accuracy when it has labels."""

    rows: int
    class_counts: Mapping[str, int]
    score_quantiles: Mapping[str, float]
    score_histogram: tuple[tuple[float, int], ...]
    accuracy: float | None
    labelled_rows: int


@dataclass(frozen=True, slots=True)
class ProfileReport:
    """One model on one device: the JSON report and, uploaded, that hardware class's baseline."""

    model_file: str
    model_size_bytes: int
    model_sha256: str
    runtime: str
    hardware: Mapping[str, str]
    threads: int
    batch_size: int
    load_time_s: float
    load_memory_bytes: int
    peak_rss_bytes: int
    cpu_cores_used: float
    """Mean cores busy in this process while the measured runs and soak ran (1.0 = one core)."""
    throughput_per_s: float
    """Inferences per second over the measured runs (rows, so a batch of 8 counts 8)."""
    latency: LatencySummary
    soak_latency: LatencySummary | None
    soak_s: float
    energy: EnergySummary
    thermal: ThermalSummary
    predictions: PredictionSummary


def report_dict(report: ProfileReport) -> dict[str, Any]:
    """The JSON form: plain types, energy per inference and watts spelled out."""
    out = dataclasses.asdict(report)
    energy = out["energy"]
    energy["joules_per_inference"] = report.energy.joules_per_inference
    best = report.energy.best
    energy["source"] = best.source if best else None
    energy["relative_error"] = best.relative_error if best else None
    for figure, raw in zip(energy["figures"], report.energy.figures, strict=True):
        figure["watts"] = raw.watts
    return out


def summarize_latency(latencies_s: Sequence[float], bins: int = HISTOGRAM_BINS) -> LatencySummary:
    """Quantiles and a log-spaced histogram of per-run latencies (at least one run)."""
    x = np.asarray(latencies_s, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        histogram: tuple[tuple[float, int], ...] = ((hi, int(x.size)),)
    else:
        edges = np.geomspace(max(lo, 1e-9), hi, bins + 1)
        counts, _ = np.histogram(np.clip(x, edges[0], hi), bins=edges)
        histogram = tuple((float(e), int(c)) for e, c in zip(edges[1:], counts, strict=True))
    p50, p95, p99 = (float(v) for v in np.quantile(x, [0.5, 0.95, 0.99]))
    return LatencySummary(int(x.size), p50, p95, p99, float(x.mean()), lo, hi, histogram)


def summarize_predictions(
    predicted: npt.NDArray[np.str_] | None,
    scores: npt.NDArray[np.float64] | None,
    labels: npt.NDArray[np.str_] | None,
    rows: int,
    bins: int = SCORE_BINS,
) -> PredictionSummary:
    """Class counts, score quantiles and histogram, and accuracy against ``labels``."""
    counts: dict[str, int] = {}
    if predicted is not None:
        values, n = np.unique(predicted, return_counts=True)
        counts = {str(v): int(c) for v, c in sorted(zip(values, n, strict=True), key=_by_class)}
    quantiles: dict[str, float] = {}
    histogram: tuple[tuple[float, int], ...] = ()
    if scores is not None and scores.size:
        qs = np.quantile(scores, [0.05, 0.25, 0.5, 0.75, 0.95])
        quantiles = {
            k: float(v) for k, v in zip(("p5", "p25", "p50", "p75", "p95"), qs, strict=True)
        }
        lo, hi = float(scores.min()), float(scores.max())
        if lo >= 0.0 and hi <= 1.0:
            lo, hi = 0.0, 1.0
        if hi > lo:
            c, edges = np.histogram(scores, bins=bins, range=(lo, hi))
            histogram = tuple((float(e), int(k)) for e, k in zip(edges[1:], c, strict=True))
    accuracy = None
    labelled = 0
    if labels is not None and predicted is not None:
        labelled = int(labels.size)
        accuracy = float(np.mean(labels == predicted)) if labelled else None
    return PredictionSummary(rows, counts, quantiles, histogram, accuracy, labelled)


def _by_class(item: tuple[Any, Any]) -> tuple[int, float, str]:
    """Numeric class names in numeric order, the rest after them alphabetically."""
    name = str(item[0])
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)
