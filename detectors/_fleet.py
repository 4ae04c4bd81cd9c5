"""Fleet-peer outliers: a device whose statistic departs from its peers' (same model version,
and hardware class when given), by a robust z-score that a few bad peers cannot mask."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from edgewatch.detectors._result import DriftResult, Verdict, fmt, insufficient

DEFAULT_Z_THRESHOLD = 3.5
"""Iglewicz & Hoaglin's recommended cut-off for the modified z-score."""
DEFAULT_MIN_PEERS = 5
"""Fewer peers than this → insufficient data."""
MAD_CONSISTENCY = 0.6745
"""Φ⁻¹(0.75): makes MAD a consistent estimator of σ for normal data."""
MEAN_AD_CONSISTENCY = 0.7979
"""√(2/π): the same for the mean absolute deviation, used when MAD is 0."""


def robust_z(value: float, peers: Sequence[float]) -> float:
    """Modified z-score 0.6745·(x − median)/MAD of ``value`` among ``peers``.

    When more than half the peers are equal (MAD = 0) the mean absolute deviation takes its
    place; when all peers are equal any different value is infinitely far (±inf).
    Reference: Iglewicz & Hoaglin (1993), "How to detect and handle outliers".
    """
    p = np.asarray(peers, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)):
        raise ValueError("peers must be a non-empty 1-D sequence of finite numbers")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"value must be finite, got {value!r}")
    med = float(np.median(p))
    dev = x - med
    mad = float(np.median(np.abs(p - med)))
    if mad > 0:
        return MAD_CONSISTENCY * dev / mad
    mean_ad = float(np.mean(np.abs(p - med)))
    if mean_ad > 0:
        return MEAN_AD_CONSISTENCY * dev / mean_ad
    return 0.0 if dev == 0 else math.copysign(math.inf, dev)


def peer_outliers(
    values: Mapping[str, float],
    *,
    groups: Mapping[str, Hashable] | None = None,
    threshold: float = DEFAULT_Z_THRESHOLD,
    min_peers: int = DEFAULT_MIN_PEERS,
    min_relative: float = 0.0,
) -> dict[str, DriftResult]:
    """Each device's statistic against the other devices in its group (all devices when
    ``groups`` is None; else e.g. ``(model_version, hardware_class)`` per device).

    Score: |robust z|; drift when it reaches ``threshold`` and the device is also at least
    ``min_relative`` (a share of the peers' median) away from the median: peers that agree
    to a fraction of a percent make a tiny MAD, and then a harmless difference of one
    histogram bucket would score a huge z. Example:
    ``peer_outliers({"d1": 0.021, "d2": 0.020, ...}, groups={"d1": "v3", ...})``.
    """
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be finite and > 0, got {threshold!r}")
    if isinstance(min_peers, bool) or not isinstance(min_peers, int) or min_peers < 2:
        raise ValueError(f"min_peers must be an int >= 2, got {min_peers!r}")
    if not (math.isfinite(min_relative) and min_relative >= 0):
        raise ValueError(f"min_relative must be finite and >= 0, got {min_relative!r}")
    for device, v in values.items():
        if not math.isfinite(float(v)):
            raise ValueError(f"values[{device!r}] must be finite, got {v!r}")
    if groups is not None:
        missing = [d for d in values if d not in groups]
        if missing:
            raise ValueError(f"groups has no entry for devices {missing[:5]}")
    members: dict[Hashable, list[str]] = defaultdict(list)
    for device in values:
        members[groups[device] if groups is not None else None].append(device)
    results: dict[str, DriftResult] = {}
    for group, devices in members.items():
        where = "" if group is None else f" in group {group!r}"
        for device in devices:
            peers = [float(values[d]) for d in devices if d != device]
            if len(peers) < min_peers:
                results[device] = insufficient(
                    "peer_outlier",
                    threshold,
                    f"{len(peers)} peers{where}, fewer than min_peers={min_peers}",
                    current_count=len(peers),
                )
                continue
            z = robust_z(values[device], peers)
            median = float(np.median(peers))
            far = abs(float(values[device]) - median) >= min_relative * abs(median)
            drifted = abs(z) >= threshold and far
            side = "above" if z > 0 else "below"
            results[device] = DriftResult(
                method="peer_outlier",
                score=abs(z),
                threshold=threshold,
                verdict=Verdict.DRIFT if drifted else Verdict.NO_DRIFT,
                explanation=(
                    f"{device}: {fmt(float(values[device]))} is {fmt(abs(z))} robust σ {side} the "
                    f"median {fmt(median)} of {len(peers)} peers{where} (limit {fmt(threshold)}"
                    f", and ≥ {fmt(min_relative * 100)} % from the median) → "
                    f"{'outlier' if drifted else 'in line with peers'}"
                ),
                current_count=len(peers),
            )
    return results
