"""The rollout gate on the server: store evidence → detectors' sequential gate → verdict."""

from __future__ import annotations

from edgewatch.server.gate._estimated import ClassAccuracy
from edgewatch.server.gate._evidence import (
    REFERENCE_PROFILE,
    ClassPlan,
    build_evidence,
    established_version,
)
from edgewatch.server.gate._rollout import (
    DEFAULT_WINDOW_S,
    HOUR_S,
    RolloutVerdict,
    rollout_verdict,
)
from edgewatch.server.gate._versions import (
    ClassComparison,
    VersionComparison,
    compare_versions,
)

__all__ = [
    "DEFAULT_WINDOW_S",
    "HOUR_S",
    "REFERENCE_PROFILE",
    "ClassAccuracy",
    "ClassComparison",
    "ClassPlan",
    "RolloutVerdict",
    "VersionComparison",
    "build_evidence",
    "compare_versions",
    "established_version",
    "rollout_verdict",
]
