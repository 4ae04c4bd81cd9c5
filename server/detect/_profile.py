"""Profiles: a baseline's features in the shapes devices send, and their summaries.

Numeric features become exponential histograms (``from_values``, as the collector builds
them), categorical ones category counts; ``prediction`` and ``score`` columns become the
class counts and score histogram a device reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgewatch.detectors import (
    CategoricalCounts,
    ExpHistogram,
    categorical_counts,
    from_values,
    quantile,
    to_dict,
)
from edgewatch.server.store import ModelProfile, ProfileRow

PREDICTION_COLUMN = "prediction"
SCORE_COLUMN = "score"
LATENCY_COLUMN = "latency_s"
"""An uploaded baseline's inference latencies, seconds: its ``ml.inference.duration`` profile."""
NUMERIC = "numeric"
CATEGORICAL = "categorical"
PREDICTION = "prediction"
SCORE = "score"
PROFILE_BASELINE = "profile:"
"""Prefix of the baseline id of a finding judged against an on-device profile
(``profile:VERSION@HARDWARE``) rather than a stored baseline."""
METRIC = "metric"
"""Kind of a profiled histogram metric (latency, energy) of a pinned window or an upload's
``latency_s`` column."""


def histogram_from_dict(data: Mapping[str, Any]) -> ExpHistogram:
    """Inverse of :func:`edgewatch.detectors.to_dict`."""
    lo, hi = data.get("min"), data.get("max")
    return ExpHistogram(
        scale=int(data["scale"]),
        zero_count=int(data["zero_count"]),
        positive_offset=int(data["positive"]["offset"]),
        positive_counts=np.asarray(data["positive"]["bucket_counts"], dtype=np.int64),
        negative_offset=int(data["negative"]["offset"]),
        negative_counts=np.asarray(data["negative"]["bucket_counts"], dtype=np.int64),
        count=int(data["count"]),
        sum=float(data["sum"]),
        min=math.nan if lo is None else float(lo),
        max=math.nan if hi is None else float(hi),
    )


def sample_of(row: ProfileRow) -> ExpHistogram | CategoricalCounts:
    """The detector input a profile row stores."""
    if row.kind in (CATEGORICAL, PREDICTION):
        return CategoricalCounts({str(k): int(v) for k, v in row.data["counts"].items()})
    return histogram_from_dict(row.data)


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def numeric_profile(name: str, values: npt.NDArray[np.float64], kind: str = NUMERIC) -> ProfileRow:
    """Histogram and exact summary of numeric values; NaN counts as missing."""
    finite = values[np.isfinite(values)]
    missing = int(values.size - finite.size)
    if finite.size == 0:
        return ProfileRow(name, kind, 0, missing, None, None, None, to_dict(from_values(finite)))
    return ProfileRow(
        name,
        kind,
        int(finite.size),
        missing,
        float(finite.mean()),
        float(np.quantile(finite, 0.5)),
        float(np.quantile(finite, 0.95)),
        to_dict(from_values(finite)),
    )


def categorical_profile(name: str, values: Sequence[object], kind: str = CATEGORICAL) -> ProfileRow:
    """Category counts; ``None`` and NaN count as missing."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    counts = categorical_counts(present)
    return ProfileRow(
        name,
        kind,
        counts.count,
        len(values) - len(present),
        None,
        None,
        None,
        {"counts": dict(counts.counts)},
    )


def histogram_profile(name: str, h: ExpHistogram, kind: str, missing: int = 0) -> ProfileRow:
    """A profile row from a merged histogram (pinned windows); quantiles from the buckets."""
    if h.count == 0:
        return ProfileRow(name, kind, 0, missing, None, None, None, to_dict(h))
    return ProfileRow(
        name,
        kind,
        h.count,
        missing,
        _finite_or_none(h.mean),
        _finite_or_none(quantile(h, 0.5)),
        _finite_or_none(quantile(h, 0.95)),
        to_dict(h),
    )


def counts_profile(name: str, counts: Mapping[str, int], kind: str, missing: int = 0) -> ProfileRow:
    """A profile row from category counts (pinned windows)."""
    total = sum(counts.values())
    return ProfileRow(name, kind, total, missing, None, None, None, {"counts": dict(counts)})


def profile_latency(profile: ModelProfile) -> ExpHistogram | None:
    """An on-device profile's per-run latency histogram (``(upper edge s, runs)`` per bin of
    ``edgewatch profile``'s report) as an exponential histogram, each run at its bin's
    geometric middle; None when the report holds no usable histogram."""
    latency = profile.report.get("latency")
    bins = latency.get("histogram") if isinstance(latency, Mapping) else None
    if not isinstance(bins, Sequence) or not bins:
        return None
    low = latency.get("min_s") if isinstance(latency, Mapping) else None
    values: list[float] = []
    try:
        previous = float(low) if low is not None else None
        for edge, runs in bins:
            hi = float(edge)
            lo = previous if previous is not None and 0 < previous <= hi else hi
            values.extend([math.sqrt(lo * hi)] * int(runs))
            previous = hi
    except (TypeError, ValueError):
        return None
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return from_values(np.asarray(finite, dtype=np.float64)) if finite else None
