"""Detection: the scheduler over the pure detectors, baselines, and alerting wired to the
store (DuckDB-backed alert state and delivery queue). Its REST answers live in ``api``."""

from __future__ import annotations

from edgewatch.server.detect._baselines import pin_baseline, upload_baseline
from edgewatch.server.detect._context import CLASS_KEY, Context, Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS, Finding
from edgewatch.server.detect._members import Member, members
from edgewatch.server.detect._persistence import DuckAlertingStore, DuckDeliveryQueue
from edgewatch.server.detect._profile import histogram_from_dict
from edgewatch.server.detect._scheduler import FiringHook, Scheduler, unsupported_rules
from edgewatch.server.detect._service import AlertingService, load_ruleset
from edgewatch.server.detect._time_scale import REAL_TIME, TimeScale, scale_ruleset
from edgewatch.server.detect._upload import BaselineUploadError, UploadProblem

__all__ = [
    "CLASS_KEY",
    "EVALUATORS",
    "REAL_TIME",
    "AlertingService",
    "BaselineUploadError",
    "Context",
    "DuckAlertingStore",
    "DuckDeliveryQueue",
    "Finding",
    "FiringHook",
    "Member",
    "Scheduler",
    "Signal",
    "TimeScale",
    "UploadProblem",
    "Window",
    "histogram_from_dict",
    "load_ruleset",
    "members",
    "pin_baseline",
    "scale_ruleset",
    "unsupported_rules",
    "upload_baseline",
]
