"""The rule time scale: one transformation that runs rules written for wall-clock time
against a fleet whose time is compressed (the demo at ``--speed 60`` lives an hour per
wall minute).

With a factor ``k``, every duration of a rule is divided by ``k`` (window, interval, ``for``,
``keep_firing_for``, the receivers' grouping timings, and each detector parameter declared
``scales="time"`` in :mod:`._params`), every per-time rate is multiplied by ``k`` (parameters
declared ``scales="rate"``), and the scheduler's series step (a minute) and seasonal periods
(a day, a week) shrink by ``k`` too, so each detector sees the same number of points with the
same meaning. Counts (fewest samples, fewest events) stay as written. ``k = 1`` is the
identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from edgewatch.detectors import SECONDS_PER_DAY, SECONDS_PER_WEEK
from edgewatch.server.alert import GroupTiming, ReceiverConfig, Rule, RuleSet
from edgewatch.server.detect._params import PARAMS


@dataclass(frozen=True, slots=True)
class TimeScale:
    """How much faster than the wall clock the monitored fleet's time runs (1 = real time)."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.factor > 0:
            raise ValueError(f"rule time scale must be > 0, got {self.factor!r}")

    def seconds(self, wall_s: float) -> float:
        """A duration written for real time, in the fleet's time."""
        return wall_s / self.factor

    @property
    def minute_s(self) -> float:
        """The series step: one minute of the fleet's time."""
        return self.seconds(60.0)

    @property
    def day_s(self) -> float:
        """One day of the fleet's time (seasonal period, default reference window)."""
        return self.seconds(SECONDS_PER_DAY)

    @property
    def week_s(self) -> float:
        """One week of the fleet's time."""
        return self.seconds(SECONDS_PER_WEEK)


REAL_TIME = TimeScale()


def _params(detector: str, params: Mapping[str, Any], factor: float) -> dict[str, Any]:
    spec = PARAMS.get(detector, {})
    out = dict(params)
    for name, value in params.items():
        param = spec.get(name)
        if param is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if param.scales == "time":
            out[name] = value / factor
        elif param.scales == "rate":
            out[name] = value * factor
    return out


def _rule(rule: Rule, factor: float) -> Rule:
    return replace(
        rule,
        params=_params(rule.detector, rule.params, factor),
        window_s=rule.window_s / factor,
        interval_s=rule.interval_s / factor,
        for_s=rule.for_s / factor,
        keep_firing_for_s=rule.keep_firing_for_s / factor,
    )


def _timing(timing: GroupTiming, factor: float) -> GroupTiming:
    return replace(
        timing,
        group_wait_s=timing.group_wait_s / factor,
        group_interval_s=timing.group_interval_s / factor,
        repeat_interval_s=timing.repeat_interval_s / factor,
    )


def _receiver(receiver: ReceiverConfig, factor: float) -> ReceiverConfig:
    return replace(receiver, timing=_timing(receiver.timing, factor))


def scale_ruleset(ruleset: RuleSet, scale: TimeScale) -> RuleSet:
    """``ruleset`` with every duration divided and every per-time rate multiplied by the
    scale's factor (the module docstring lists what); the identity for a factor of 1.

    >>> scale_ruleset(ruleset, TimeScale(60)).rules[0].window_s   # a 15m window
    15.0
    """
    factor = scale.factor
    if factor == 1:
        return ruleset
    return replace(
        ruleset,
        rules=tuple(_rule(r, factor) for r in ruleset.rules),
        receivers=tuple(_receiver(r, factor) for r in ruleset.receivers),
    )


__all__ = ["REAL_TIME", "TimeScale", "scale_ruleset"]
