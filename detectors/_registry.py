"""Registries: alert rules name a detector (``"psi"``, ``"cusum"``, ``"trend"``…) and get it here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgewatch.detectors._counts import count_increase
from edgewatch.detectors._degradation import (
    missing_heartbeat,
    quantile_regression,
    rate_drop,
    trend,
)
from edgewatch.detectors._drift import DRIFT_METHODS, TwoSampleMethod
from edgewatch.detectors._fleet import peer_outliers
from edgewatch.detectors._load import load_matched_rise
from edgewatch.detectors._streaming import STREAMING_DETECTORS, StreamingDetector

DEGRADATION_TESTS: dict[str, Callable[..., Any]] = {
    "quantile_regression": quantile_regression,
    "trend": trend,
    "rate_drop": rate_drop,
    "count_increase": count_increase,
    "load_matched_rise": load_matched_rise,
    "missing_heartbeat": missing_heartbeat,
    "peer_outlier": peer_outliers,
}
"""Stateless degradation tests by registry name (functions returning results)."""


def get_drift_method(name: str, **params: Any) -> TwoSampleMethod:
    """A two-sample drift method by name with its hyper-parameters, e.g. ``get_drift_method("psi", threshold=0.2)``."""
    if name not in DRIFT_METHODS:
        raise ValueError(f"unknown drift method {name!r}; known: {sorted(DRIFT_METHODS)}")
    return DRIFT_METHODS[name](**params)


def get_streaming_detector(name: str, **params: Any) -> StreamingDetector:
    """A fresh streaming detector by name, e.g. ``get_streaming_detector("cusum", threshold=6)``."""
    if name not in STREAMING_DETECTORS:
        raise ValueError(
            f"unknown streaming detector {name!r}; known: {sorted(STREAMING_DETECTORS)}"
        )
    return STREAMING_DETECTORS[name](**params)


def detector_names() -> dict[str, list[str]]:
    """Every registered name by kind (for rule validation and docs)."""
    return {
        "drift": sorted(DRIFT_METHODS),
        "streaming": sorted(STREAMING_DETECTORS),
        "degradation": sorted(DEGRADATION_TESTS),
    }
