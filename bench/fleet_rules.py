"""The built-in count rules on the messy fleet over many device-days: false alerts per healthy
device-day, recall and detection delay by time of day, beside the previous rule or a naive
alternative measured in the same run.

The messy fleet of the end-to-end suite (``tests/e2e/messy_fleet.py``: 30 devices in three
time zones, day/night traffic at 10 % of peak by night, bursts, restarts, a 0.2 % error rate
on most devices) gives each device's per-minute inferences and errors exactly as its exports
carry them. Time is compressed: the rules' real evaluators run at scenario timestamps, every
rule interval, over an in-memory store of those minutes (no DuckDB, no wall clock), so weeks
of fleet time take a minute. The rules are the shipped ones (``default_rules.yaml``):

- ErrorRateIncrease (``count_increase``) beside the previous built-in (15-minute window,
  p < 0.001, at least 5 errors, ``for: 1m``);
- ThroughputDrop (``rate_drop``, expected count from the same time of day) beside the naive
  flat rate of the previous day (``season: none``).

False alerts: firing episodes on the healthy devices (the 26 day/night and flat devices
without an incident) over the evaluated days, after 7 days of history. Delay: an incident
(the error burst: 5 % errors; the throughput drop: 20 % of the traffic) starts on one device
at each hour of a day, and the delay from onset to firing is counted in the rule's evaluation
intervals, split by the device's local night (22:00-06:00) and day.

``--rules drift``: DevicePredictionDrift (``drift_fdr``) over the same fleet's predicted
classes (each minute's inferences split over the four classes by the fleet's class shares),
with its ``alpha_per_day: 0.01`` budget beside the level it had before, 1 % per evaluation
(``fdr`` alone). Every evaluation judges all 30 devices as one Benjamini–Hochberg family, as
the scheduler does. False alerts: firing episodes on the healthy devices; recall and delay:
the new-class incident (30 % of predictions a class the baseline never saw) starting on one
device at each hour of a day. ``--traffic 0.1`` keeps a tenth of each minute's inferences:
windows as small as the 60x demo's.

Run: ``.venv/bin/python bench/fleet_rules.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

from messy_fleet import Fleet, Incident, Spec, fleet  # noqa: E402

from edgewatch.detectors import CategoricalCounts, fdr_control  # noqa: E402
from edgewatch.server.alert import Rule, ScopeLevel, load_default_rules  # noqa: E402
from edgewatch.server.alerting._scheduler import _observation, family_level  # noqa: E402
from edgewatch.server.detect import REAL_TIME  # noqa: E402
from edgewatch.server.detect._context import Signal, Window  # noqa: E402
from edgewatch.server.detect._evaluators import EVALUATORS  # noqa: E402
from edgewatch.server.detect._members import Member  # noqa: E402
from edgewatch.server.store import Selection  # noqa: E402

DAY_S = 86_400.0
HISTORY_DAYS = 7
"""Days before the evaluated ones: the seasonal throughput rule's 7 past days."""
T0 = 1_764_460_800.0  # 2025-11-30 00:00 UTC, a midnight
INCIDENT_DEVICES = ("dev-06", "dev-07", "dev-13", "dev-20")
"""Devices that take the incidents in the delay runs (two time zones, day/night traffic)."""
HORIZON_MIN = 90
"""Longest delay looked at; an incident not firing by then counts as missed."""


class MinuteStore:
    """``Context.series`` over each device's per-minute (inferences, errors): one bucket per
    call's step (the count rules ask for whole-window sums), buckets without a report absent."""

    scale = REAL_TIME

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        self.raw: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
        self.cum: dict[str, dict[str, npt.NDArray[np.float64]]] = {}
        self.now_s = T0

    def add(self, device: str, n: npt.NDArray[np.float64], errors: npt.NDArray[np.float64]) -> None:
        """A device's minutes: inferences (-1 where it did not report) and errors."""
        self.raw[device] = (n, errors)
        self.cum[device] = {
            key: np.concatenate(([0.0], np.cumsum(a)))
            for key, a in (("n", np.maximum(n, 0.0)), ("e", errors), ("r", n >= 0))
        }

    def with_device(
        self, device: str, first: int, n: npt.NDArray[np.float64], errors: npt.NDArray[np.float64]
    ) -> MinuteStore:
        """A copy whose ``device`` has other minutes from ``first`` on (an incident)."""
        out = MinuteStore(self.minutes)
        out.raw, out.cum = dict(self.raw), dict(self.cum)
        whole_n, whole_e = (a.copy() for a in self.raw[device])
        whole_n[first : first + n.size] = n
        whole_e[first : first + n.size] = errors
        out.add(device, whole_n, whole_e)
        return out

    def series(
        self, member: Member, signal: Signal, window: Window, step_s: float, agg: str | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        cum = self.cum[str(member.get("device"))]
        times, values = [], []
        key = "e" if signal.attributes else "n"
        start = window.start_s
        while start < window.end_s:
            end = min(start + step_s, window.end_s)
            # Minute i covers [T0 + 60 i, T0 + 60 (i + 1)); a bucket holds the minutes starting in it.
            i0 = min(max(math.ceil((start - T0) / 60), 0), self.minutes)
            i1 = min(max(math.ceil((end - T0) / 60), 0), self.minutes)
            if cum["r"][i1] > cum["r"][i0]:
                times.append(start)
                values.append(float(cum[key][i1] - cum[key][i0]))
            start = end
        return np.asarray(times), np.asarray(values)


def _minutes(the_fleet: Fleet, spec: Spec, first: int, last: int) -> tuple[Any, Any]:
    """Per-minute inferences and errors of minutes ``first`` … ``last - 1`` (-1: no report)."""
    n = np.full(last - first, -1.0)
    e = np.zeros(last - first)
    for i in range(first, last):
        counts = the_fleet.counts(spec, T0 + 60.0 * (i + 1))
        if counts is not None:
            n[i - first], e[i - first] = counts
    return n, e


def _member(spec: Spec) -> Member:
    device: Any = SimpleNamespace(first_seen=datetime.fromtimestamp(T0, UTC))
    labels = (("device", spec.device_id),)
    return Member(ScopeLevel.DEVICE, labels, Selection(device_id=spec.device_id), device)


@dataclass
class Alerting:
    """Pending → firing → resolved for one rule and member, as the alert engine keeps it."""

    rule: Rule
    active_since: float | None = None
    firing: bool = False
    last_active: float = -math.inf
    fired_at: list[float] = field(default_factory=list)

    def observe(self, now_s: float, active: bool | None) -> None:
        if active:
            self.last_active = now_s
            if self.active_since is None:
                self.active_since = now_s
            if not self.firing and now_s - self.active_since >= self.rule.for_s:
                self.firing = True
                self.fired_at.append(now_s)
        elif active is False:
            self.active_since = None
            if self.firing and now_s - self.last_active > self.rule.keep_firing_for_s:
                self.firing = False


def _evaluate(store: MinuteStore, rule: Rule, member: Member, now_s: float) -> bool | None:
    store.now_s = now_s
    ctx: Any = store
    window = Window(now_s - rule.window_s, now_s)
    (finding,) = EVALUATORS[rule.detector](ctx, rule, member, window)
    return _observation(rule, member, finding).active


def _run(
    store: MinuteStore, rule: Rule, member: Member, start_s: float, end_s: float, *, first: bool
) -> Alerting:
    """Evaluate every rule interval from ``start_s`` to ``end_s`` (until the first firing
    with ``first``)."""
    state = Alerting(rule)
    now = math.ceil(start_s / rule.interval_s) * rule.interval_s
    while now <= end_s and not (first and state.fired_at):
        state.observe(now, _evaluate(store, rule, member, now))
        now += rule.interval_s
    return state


def variants() -> dict[str, tuple[Rule, Rule]]:
    """Rule name → (shipped, the alternative measured beside it)."""
    rules = {r.name: r for r in load_default_rules().rules}
    errors = rules["ErrorRateIncrease"]
    previous = replace(
        errors,
        window_s=900.0,
        for_s=60.0,
        params={**errors.params, "min_count": 5, "alpha": 0.001},
    )
    drop = rules["ThroughputDrop"]
    naive = replace(drop, params={**drop.params, "season": "none"})
    return {"ErrorRateIncrease": (errors, previous), "ThroughputDrop": (drop, naive)}


def _local_night(spec: Spec, t: float) -> bool:
    hour = ((t / 3600.0) + spec.zone_h) % 24
    return not 6 <= hour < 22


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=5.0, help="evaluated days (default 5)")
    parser.add_argument(
        "--rules",
        choices=("counts", "drift"),
        default="counts",
        help="the count rules (default) or the device drift rule with and without alpha spending",
    )
    parser.add_argument(
        "--traffic",
        type=float,
        default=1.0,
        help="--rules drift: share of each minute's inferences kept (0.1: windows as small as"
        " the 60x demo's; default 1)",
    )
    args = parser.parse_args()
    if not (math.isfinite(args.days) and args.days > 0):
        parser.error(f"--days must be a number > 0, got {args.days!r}")
    if args.rules == "drift":
        if not 0 < args.traffic <= 1:
            parser.error(f"--traffic must be in (0, 1], got {args.traffic!r}")
        return drift_main(args.days, args.traffic)
    started = time.perf_counter()
    specs = fleet()
    kinds = {"ErrorRateIncrease": "error_burst", "ThroughputDrop": "throughput_drop"}
    healthy = [s for s in specs if s.device_id not in INCIDENT_DEVICES]
    evaluated_min = int((HISTORY_DAYS + args.days) * 1440)
    # Incidents start at each hour of the first evaluated day and run HORIZON_MIN minutes.
    total_min = max(evaluated_min, (HISTORY_DAYS + 1) * 1440) + HORIZON_MIN
    store = MinuteStore(total_min)
    quiet = Fleet(specs)
    for spec in specs:
        store.add(spec.device_id, *_minutes(quiet, spec, 0, total_min))
    print(f"fleet minutes generated: {time.perf_counter() - started:.0f} s", file=sys.stderr)

    eval_start, eval_end = T0 + HISTORY_DAYS * DAY_S, T0 + evaluated_min * 60.0
    device_days = len(healthy) * (eval_end - eval_start) / DAY_S
    lines = [
        f"messy fleet, {len(healthy)} healthy devices x {args.days:g} evaluated days = "
        f"{device_days:.0f} device-days after {HISTORY_DAYS} days of history",
        "",
        f"{'rule':<18} {'variant':<48} {'false/dev-day':>13} {'recall':>7} "
        f"{'delay night':>12} {'delay day':>10}",
        "-" * 114,
    ]
    figures: dict[str, dict[str, float]] = {}
    for name, pair in variants().items():
        for label, rule in zip(("shipped", "alternative"), pair, strict=True):
            false_alerts = 0
            for spec in healthy:
                state = _run(store, rule, _member(spec), eval_start, eval_end, first=False)
                false_alerts += len(state.fired_at)
            night, day, missed = [], [], 0
            for spec in (s for s in specs if s.device_id in INCIDENT_DEVICES):
                for hour in range(24):
                    onset = eval_start + hour * 3600.0 + 17 * 60.0
                    trial = Fleet(specs, [Incident(kinds[name], (spec.device_id,), name, onset)])
                    first = int((onset - T0) // 60)
                    n, e = _minutes(trial, spec, first, first + HORIZON_MIN)
                    state = _run(
                        store.with_device(spec.device_id, first, n, e),
                        rule,
                        _member(spec),
                        onset,
                        onset + HORIZON_MIN * 60,
                        first=True,
                    )
                    fired = [t for t in state.fired_at if t >= onset]
                    if not fired:
                        missed += 1
                        continue
                    delay = (fired[0] - onset) / rule.interval_s
                    (night if _local_night(spec, onset) else day).append(delay)
            trials = 24 * len(INCIDENT_DEVICES)
            figures[f"{name} {label}"] = {
                "false": false_alerts / device_days,
                "night": statistics.median(night) if night else math.nan,
                "day": statistics.median(day) if day else math.nan,
            }
            describe = f"window {rule.window_s / 60:g}m, for {rule.for_s / 60:g}m, " + ", ".join(
                f"{k} {v}" for k, v in rule.params.items() if k in _SHOWN
            )
            lines.append(
                f"{name:<18} {label + ': ' + describe:<48} "
                f"{false_alerts / device_days:>13.3f} {(trials - missed) / trials:>7.0%} "
                f"{_spread(night):>12} {_spread(day):>10}"
            )
            print(f"{name} {label}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    lines += ["-" * 114, "delay: median [max] evaluation intervals from onset to firing", ""]
    for name in variants():
        a, b = figures[f"{name} shipped"], figures[f"{name} alternative"]
        lines.append(
            f"{name}: false alerts shipped/alternative = {_ratio(a['false'], b['false'])}, "
            f"median night delay = {_ratio(a['night'], b['night'])}, "
            f"day delay = {_ratio(a['day'], b['day'])}"
        )
    lines.append(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"run {time.perf_counter() - started:.0f} s"
    )
    print("\n".join(lines))
    return 0


_SHOWN = ("alpha", "min_count", "season")

MESSY_CLASSES = ("person", "car", "bike", "dog")
MESSY_SHARE = (0.5, 0.3, 0.15, 0.05)
"""The messy fleet's predicted classes and their shares (``messy_fleet.CLASSES``)."""
NEW_CLASS = "unknown"


class ClassStore:
    """``Context.counts`` of predicted classes over each device's minutes (cumulative sums),
    and the version's baseline class counts; ``now_s`` is set per evaluation."""

    scale = REAL_TIME

    def __init__(self, per_class: dict[str, npt.NDArray[np.float64]]) -> None:
        self.cum = {
            d: np.vstack((np.zeros(a.shape[1]), np.cumsum(a, axis=0))) for d, a in per_class.items()
        }
        self.now_s = T0
        self.baseline = CategoricalCounts(
            {c: round(20_000 * p) for c, p in zip(MESSY_CLASSES, MESSY_SHARE, strict=True)}
        )

    def with_device(self, device: str, first: int, counts: npt.NDArray[np.float64]) -> ClassStore:
        out = ClassStore.__new__(ClassStore)
        out.cum, out.now_s, out.baseline = dict(self.cum), self.now_s, self.baseline
        whole = np.diff(self.cum[device], axis=0)
        whole[first : first + counts.shape[0]] = counts
        out.cum[device] = np.vstack((np.zeros(whole.shape[1]), np.cumsum(whole, axis=0)))
        return out

    def reference(
        self, member: Member, name: str, kinds: tuple[str, ...]
    ) -> tuple[CategoricalCounts, str]:
        return self.baseline, "baseline"

    def counts(
        self, member: Member, metric: str, key: str, window: Window, attributes: Any = ()
    ) -> CategoricalCounts:
        cum = self.cum[str(member.get("device"))]
        # Minute i ends at T0 + 60 (i + 1): the window holds the minutes ending in (start, end].
        lo = int(np.clip(math.floor((window.start_s - T0) / 60.0), 0, cum.shape[0] - 1))
        hi = int(np.clip(math.floor((window.end_s - T0) / 60.0), 0, cum.shape[0] - 1))
        total = cum[hi] - cum[lo]
        names = (*MESSY_CLASSES, NEW_CLASS)
        return CategoricalCounts({c: int(v) for c, v in zip(names, total, strict=True) if v})


def _class_minutes(
    the_fleet: Fleet, spec: Spec, first: int, last: int, new_class: bool, traffic: float
) -> npt.NDArray[np.float64]:
    """Per-minute predicted class counts (the four classes and ``unknown``) of minutes
    ``first`` … ``last - 1``: each minute's inferences split by the class shares (30 % unknown
    in the new-class incident)."""
    rng = np.random.default_rng([int(spec.device_id[-2:]), first, int(new_class)])
    share = [*MESSY_SHARE, 0.0] if not new_class else [p * 0.7 for p in MESSY_SHARE] + [0.3]
    out = np.zeros((last - first, len(share)))
    for i in range(first, last):
        counts = the_fleet.counts(spec, T0 + 60.0 * (i + 1))
        if counts is not None and counts[0] > 0:
            out[i - first] = rng.multinomial(rng.binomial(counts[0], traffic), share)
    return out


def _drift_evaluation(
    store: ClassStore, rule: Rule, members: list[Member], now_s: float
) -> list[bool | None]:
    """One evaluation of the rule over the fleet: every device's finding, then the family's
    Benjamini–Hochberg control at the rule's level (the scheduler's ``evaluate_rule``)."""
    store.now_s = now_s
    ctx: Any = store
    window = Window(now_s - rule.window_s, now_s)
    findings = [f for m in members for f in EVALUATORS[rule.detector](ctx, rule, m, window)]
    controlled = fdr_control([f.result for f in findings], family_level(rule, REAL_TIME))
    return [
        _observation(rule, m, replace(f, result=r)).active
        for m, f, r in zip(members, findings, controlled, strict=True)
    ]


def _drift_run(
    store: ClassStore,
    rule: Rule,
    members: list[Member],
    start_s: float,
    end_s: float,
    watch: str | None,
) -> dict[str, Alerting]:
    """Evaluate every interval from ``start_s`` to ``end_s`` (until ``watch`` fires)."""
    states = {str(m.get("device")): Alerting(rule) for m in members}
    now = math.ceil(start_s / rule.interval_s) * rule.interval_s
    while now <= end_s and not (watch and states[watch].fired_at):
        for m, active in zip(members, _drift_evaluation(store, rule, members, now), strict=True):
            states[str(m.get("device"))].observe(now, active)
        now += rule.interval_s
    return states


def drift_main(days: float, traffic: float) -> int:
    """DevicePredictionDrift with its daily budget beside 1 % per evaluation."""
    started = time.perf_counter()
    specs = fleet()
    healthy = {s.device_id for s in specs if s.device_id not in INCIDENT_DEVICES}
    evaluated_min = int((HISTORY_DAYS + days) * 1440)
    total_min = max(evaluated_min, (HISTORY_DAYS + 1) * 1440) + HORIZON_MIN
    quiet = Fleet(specs)
    store = ClassStore(
        {s.device_id: _class_minutes(quiet, s, 0, total_min, False, traffic) for s in specs}
    )
    members = [_member(s) for s in specs]
    print(f"fleet minutes generated: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    shipped = next(r for r in load_default_rules().rules if r.name == "DevicePredictionDrift")
    before = replace(
        shipped, params={k: v for k, v in shipped.params.items() if k != "alpha_per_day"}
    )
    eval_start, eval_end = T0 + HISTORY_DAYS * DAY_S, T0 + evaluated_min * 60.0
    device_days = len(healthy) * (eval_end - eval_start) / DAY_S
    lines = [
        f"messy fleet, {len(healthy)} healthy devices x {days:g} evaluated days = "
        f"{device_days:.0f} device-days after {HISTORY_DAYS} days of history, "
        f"{traffic:.0%} of the traffic",
        "",
        f"{'rule':<22} {'variant':<44} {'false/dev-day':>13} {'recall':>7} "
        f"{'delay night':>12} {'delay day':>10}",
        "-" * 114,
    ]
    figures: dict[str, dict[str, float]] = {}
    for label, rule in (("shipped", shipped), ("alternative", before)):
        level = family_level(rule, REAL_TIME)
        states = _drift_run(store, rule, members, eval_start, eval_end, None)
        false_alerts = sum(len(st.fired_at) for d, st in states.items() if d in healthy)
        night, day, missed = [], [], 0
        for spec in (s for s in specs if s.device_id in INCIDENT_DEVICES):
            for hour in range(24):
                onset = eval_start + hour * 3600.0 + 17 * 60.0
                first = int((onset - T0) // 60)
                counts = _class_minutes(quiet, spec, first, first + HORIZON_MIN, True, traffic)
                trial = store.with_device(spec.device_id, first, counts)
                state = _drift_run(
                    trial, rule, members, onset, onset + HORIZON_MIN * 60, spec.device_id
                )[spec.device_id]
                fired = [t for t in state.fired_at if t >= onset]
                if not fired:
                    missed += 1
                    continue
                delay = (fired[0] - onset) / rule.interval_s
                (night if _local_night(spec, onset) else day).append(delay)
        trials = 24 * len(INCIDENT_DEVICES)
        figures[label] = {
            "false": false_alerts / device_days,
            "night": statistics.median(night) if night else math.nan,
            "day": statistics.median(day) if day else math.nan,
        }
        describe = f"BH level {level:.3g} per evaluation" + (
            ", alpha_per_day 0.01" if "alpha_per_day" in rule.params else " (fdr alone)"
        )
        lines.append(
            f"{rule.name:<22} {label + ': ' + describe:<44} "
            f"{false_alerts / device_days:>13.3f} {trials - missed:>4}/{trials:<2} "
            f"{_spread(night):>12} {_spread(day):>10}"
        )
        print(f"{label}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    a, b = figures["shipped"], figures["alternative"]
    lines += [
        "-" * 114,
        "delay: median [max] evaluation intervals from onset to firing",
        "",
        f"DevicePredictionDrift: false alerts shipped/alternative = {_ratio(a['false'], b['false'])}, "
        f"median night delay = {_ratio(a['night'], b['night'])}, day delay = {_ratio(a['day'], b['day'])}",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"run {time.perf_counter() - started:.0f} s",
    ]
    print("\n".join(lines))
    return 0


def _spread(delays: list[float]) -> str:
    if not delays:
        return "-"
    return f"{statistics.median(delays):.1f} [{max(delays):.1f}]"


def _ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b):
        return "-"
    if b == 0:
        return "0/0" if a == 0 else f"{a:.3g}/0"
    return f"{a / b:.2f}x"


if __name__ == "__main__":
    raise SystemExit(main())
