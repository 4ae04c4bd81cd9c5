"""Detection: the evaluators over the pure detectors, the windows and scope members they
read from the store, typed rule parameters, baselines (upload, profiling, pinning) and the
rule-set time scale. Running rules on a schedule and keeping alert state is
``edgewatch.server.alerting``; REST answers are built in ``edgewatch.server.api``."""

from __future__ import annotations

from edgewatch.server.detect._baselines import pin_baseline, upload_baseline
from edgewatch.server.detect._cohort_view import cohort_rows
from edgewatch.server.detect._context import CLASS_KEY, Context, Signal, Window
from edgewatch.server.detect._evaluators import BASELINE_DETECTORS, EVALUATORS, Finding
from edgewatch.server.detect._members import Member, members
from edgewatch.server.detect._params import param_problems
from edgewatch.server.detect._profile import PROFILE_BASELINE, histogram_from_dict
from edgewatch.server.detect._time_scale import REAL_TIME, TimeScale, scale_ruleset
from edgewatch.server.detect._upload import BaselineUploadError, UploadProblem

__all__ = [
    "BASELINE_DETECTORS",
    "CLASS_KEY",
    "EVALUATORS",
    "PROFILE_BASELINE",
    "REAL_TIME",
    "BaselineUploadError",
    "Context",
    "Finding",
    "Member",
    "Signal",
    "TimeScale",
    "UploadProblem",
    "Window",
    "cohort_rows",
    "histogram_from_dict",
    "members",
    "param_problems",
    "pin_baseline",
    "scale_ruleset",
    "upload_baseline",
]
