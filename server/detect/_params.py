"""Typed parameters of each detector a rule may name, checked when rules load and reload.

A rule's ``params`` are the detector's hyper-parameters plus the few its evaluator reads
(which reference window, how many points). Each is declared here once with its type, its
allowed values and a line of documentation, so a misspelt or impossible parameter is refused
with the rule, the parameter and what is allowed, instead of failing on every tick.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgewatch.detectors import DRIFT_METHODS, STREAMING_DETECTORS, get_streaming_detector


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its kind (``float``, ``int``, ``str``, ``bool``, ``floats``), bounds
    (``low``/``high``, open when ``*_open``), allowed ``choices``, whether it is required, and
    how it follows the rule time scale (``time``: a duration, divided by the scale; ``rate``: a
    quantity per unit of time, multiplied by it; empty: unchanged)."""

    kind: str
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False
    scales: str = ""

    def allowed(self) -> str:
        """What the parameter accepts, in words."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        word = {"int": "an integer", "bool": "true or false", "floats": "a list of numbers"}.get(
            self.kind, "a number"
        )
        if self.kind == "str":
            word = "a string"
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        return f"{word} {bounds}".strip()

    def _in_range(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return not (self.high is not None and (x >= self.high if self.high_open else x > self.high))

    def check(self, value: Any) -> bool:
        """Whether ``value`` has the right type and lies in range."""
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if self.kind == "floats":
            return (
                isinstance(value, list)
                and len(value) > 0
                and all(self._number(v) and self._in_range(float(v)) for v in value)
            )
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool) and self._in_range(value)
        return self._number(value) and self._in_range(float(value))

    @staticmethod
    def _number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)


def _p(kind: str, doc: str, **kw: Any) -> Param:
    return Param(kind, doc, **kw)


_ALPHA = _p("float", "significance level", low=0, high=1, low_open=True, high_open=True)
_MIN_SAMPLES = _p("int", "fewest values on either side to judge", low=1)
_WINDOW_S = _p(
    "float",
    "length of the reference window before the evaluation window, s",
    low=0,
    scales="time",
)

_SEASON: dict[str, Param] = {
    "season": _p(
        "str",
        "also judge against the member's own data at the same time of 'day' or 'week' over"
        " past periods: drift only when new there too ('none': the baseline alone)",
        choices=("day", "week", "none"),
    ),
    "seasons": _p("int", "past days (weeks) pooled as the same-time reference", low=1),
}

_STREAMING_COMMON: dict[str, Param] = {
    "threshold": _p(
        "float", "limit of the statistic, warm-up standard deviations", low=0, low_open=True
    ),
    "warmup": _p("int", "values that estimate the in-control mean and std", low=2),
    "mean": _p("float", "known in-control mean (with std)"),
    "std": _p("float", "known in-control std (with mean)", low=0, low_open=True),
    "min_std": _p("float", "absolute floor of the in-control std", low=0, low_open=True),
    "resolution": _p(
        "float",
        "the values' resolution: the std is at least resolution/√12 (1 for counts; default for"
        " a ratio a/b: one event in a median minute, 1/median(b))",
        low=0,
    ),
    "min_relative_std": _p(
        "float",
        "relative floor of the in-control std, a share of the mean's magnitude (default 0.001)",
        low=0,
    ),
    "min_points": _p("int", "fewest minutes with data to judge", low=1),
}
_STREAMING_OWN: dict[str, dict[str, Param]] = {
    "page_hinkley": {"delta": _p("float", "tolerance, std", low=0, low_open=True)},
    "cusum": {"slack": _p("float", "slack k, std", low=0, low_open=True)},
    "ewma": {
        "smoothing": _p("float", "smoothing λ", low=0, high=1, low_open=True),
        "width": _p("float", "control-limit width L", low=0, low_open=True),
    },
}

_DRIFT: dict[str, Param] = {
    "threshold": _p(
        "float", "the method's drift threshold (p-value for ks/chisquare/z)", low=0, low_open=True
    ),
    "min_samples": _MIN_SAMPLES,
    "method": _p(
        "str",
        "drift method ('auto' chooses as Evidently)",
        choices=("auto", *sorted(DRIFT_METHODS)),
    ),
    **_SEASON,
}

PARAMS: Mapping[str, Mapping[str, Param]] = {
    "missing_heartbeat": {
        "export_interval_s": _p(
            "float", "the devices' export interval, s", low=0, low_open=True, scales="time"
        ),
        "missed_intervals": _p("float", "missed intervals that mean offline", low=0, low_open=True),
    },
    "clock_skew": {
        "max_skew_s": _p("float", "largest tolerated clock offset, s", low=0),
    },
    "quantile_regression": {
        "q": _p("float", "the quantile", low=0, high=1, low_open=True, high_open=True),
        "min_relative": _p("float", "smallest relative rise that regresses", low=0),
        "min_absolute": _p("float", "smallest absolute rise that regresses (value units)", low=0),
        "min_samples": _MIN_SAMPLES,
        "reference_window_s": _WINDOW_S,
        "values": _p(
            "str", "read a histogram metric or a gauge series", choices=("histogram", "gauge")
        ),
    },
    "trend": {
        "min_slope_per_hour": _p(
            "float", "smallest slope per hour that counts", low=0, required=True, scales="rate"
        ),
        "alpha": _ALPHA,
        "direction": _p("str", "which trend", choices=("increasing", "decreasing", "both")),
        "min_points": _p("int", "fewest points to judge", low=3),
        "max_points": _p("int", "most points accepted", low=3),
    },
    "rate_drop": {
        "alpha": _ALPHA,
        "min_relative_drop": _p("float", "smallest relative drop", low=0, high=1, high_open=True),
        "min_expected": _p("float", "fewest expected events to judge", low=0),
        "reference_window_s": _WINDOW_S,
        "season": _p(
            "str",
            "expect the count of the same time of 'day' or 'week' over past periods (the "
            "flat rate of reference_window_s when there is no such history), or 'none'",
            choices=("day", "week", "none"),
        ),
        "seasons": _p("int", "past days (weeks) whose median count is expected", low=1),
    },
    "count_increase": {
        "alpha": _ALPHA,
        "min_count": _p("int", "fewest events in the window that can alert", low=1),
        "min_ratio": _p("float", "smallest rise of the rate against the reference rate", low=1),
        "reference_window_s": _WINDOW_S,
    },
    "drift_fdr": {
        "min_effect": _p(
            "float",
            "effect-size floor: PSI for numeric values and scores, Jensen–Shannon distance for"
            " categories and predicted classes",
            low=0,
            low_open=True,
        ),
        "fdr": _p(
            "float",
            "false-discovery rate, Benjamini–Hochberg over every (member, feature) test of one"
            " evaluation",
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        ),
        "alpha_per_day": _p(
            "float",
            "daily false-alarm budget spent across the day's evaluations: each evaluation's"
            " FDR level becomes min(fdr, alpha_per_day / evaluations per day)",
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        ),
        "min_samples": _MIN_SAMPLES,
        **_SEASON,
    },
    "load_matched_rise": {
        "load_signal": _p("str", "the load that power follows, summed per minute"),
        "reference_window_s": _WINDOW_S,
        "min_relative": _p("float", "smallest median rise against the same load", low=0),
        "alpha": _ALPHA,
        "bands": _p("int", "load bands (quantiles of the reference's load)", low=1),
        "min_points": _p("int", "fewest minutes at a load the reference saw", low=1),
    },
    "peer_outlier": {
        "threshold": _p("float", "absolute robust z that makes an outlier", low=0, low_open=True),
        "min_peers": _p("int", "fewest peers with data to judge", low=2),
        "min_relative": _p(
            "float", "smallest distance from the peers' median, a share of it", low=0
        ),
    },
    "accuracy_drop": {
        "min_drop": _p(
            "float", "accuracy points below the reference that are a drop", low=0, high=1
        ),
        "min_labels": _p("int", "fewest labelled inferences to judge", low=1),
        "reference_accuracy": _p(
            "float", "accuracy to compare with (default: the labelled baseline's)", low=0, high=1
        ),
        "max_drift_share": _p(
            "float", "drifted share of features above which no estimate is trusted", low=0, high=1
        ),
    },
    "estimated_accuracy_drop": {
        "min_drop": _p(
            "float", "accuracy points below the reference that are a drop", low=0, high=1
        ),
        "min_inferences": _p("int", "fewest scored inferences to judge", low=1),
        "reference_accuracy": _p(
            "float", "accuracy to compare with (default: the labelled baseline's)", low=0, high=1
        ),
        "max_drift_share": _p(
            "float", "drifted share of features above which no estimate is trusted", low=0, high=1
        ),
    },
    "label_coverage_low": {
        "min_coverage": _p("float", "labelled share below which coverage is low", low=0, high=1),
        "min_inferences": _p("int", "fewest inferences to judge", low=1),
        "lookback_s": _p(
            "float", "how far back a version must have sent labels, s", low=0, scales="time"
        ),
        "max_drift_share": _p(
            "float", "drifted share of features above which no estimate is trusted", low=0, high=1
        ),
    },
    "rollout": {
        "alpha": _p(
            "float",
            "overall false-fail rate of the rollout gate",
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        ),
        "min_devices": _p("int", "canary devices a hardware class needs to pass", low=1),
        "period_s": _p(
            "float", "evidence unit: one device's summary per period, s", low=60, scales="time"
        ),
    },
    **{name: _DRIFT for name in (*DRIFT_METHODS, "auto")},
    **{name: {**_STREAMING_COMMON, **_STREAMING_OWN[name]} for name in STREAMING_DETECTORS},
}
"""Detector name → its parameters."""


def param_problems(detector: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem with ``params`` for ``detector``: unknown names (with the closest known
    one), wrong types or impossible values (with what is allowed), missing required ones."""
    spec = PARAMS.get(detector)
    if spec is None:
        return []
    problems = []
    for name, value in params.items():
        param = spec.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(spec), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(spec)) or "none"
            problems.append(
                f"params.{name}: unknown parameter for detector {detector!r}{hint}; allowed: {known}"
            )
        elif not param.check(value):
            problems.append(f"params.{name}: got {value!r}; must be {param.allowed()}")
    for name, param in spec.items():
        if param.required and name not in params:
            problems.append(f"params.{name}: required by detector {detector!r} ({param.doc})")
    if not problems and detector in STREAMING_DETECTORS:
        # Cross-parameter rules (mean and std together) are the detector's own to state.
        try:
            get_streaming_detector(
                detector, **{k: v for k, v in params.items() if k != "min_points"}
            )
        except ValueError as e:
            problems.append(f"params: {e}")
    return problems


__all__ = ["PARAMS", "Param", "param_problems"]
