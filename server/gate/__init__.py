"""The rollout gate on the server: store evidence → detectors' sequential gate → verdict."""

from __future__ import annotations

from edgewatch.server.gate._evidence import REFERENCE_PROFILE, ClassPlan, build_evidence
from edgewatch.server.gate._rollout import DEFAULT_WINDOW_S, RolloutVerdict, rollout_verdict

__all__ = [
    "DEFAULT_WINDOW_S",
    "REFERENCE_PROFILE",
    "ClassPlan",
    "RolloutVerdict",
    "build_evidence",
    "rollout_verdict",
]
