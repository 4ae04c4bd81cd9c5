"""Inhibition with Alertmanager semantics: a firing source alert mutes matching targets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._alert import Alert, AlertState
from ._config import InhibitRule
from ._matchers import Matcher, MatchOp, matches_all

__all__ = ["DEFAULT_INHIBIT_RULES", "inhibitions"]

#: A device with a firing ``DeviceOffline`` alert mutes its other alerts: its drift and
#: degradation windows are empty or stale, so those alerts say nothing new.
DEFAULT_INHIBIT_RULES: tuple[InhibitRule, ...] = (
    InhibitRule(
        source_matchers=(Matcher("alertname", MatchOp.EQUAL, "DeviceOffline"),),
        target_matchers=(Matcher("alertname", MatchOp.NOT_EQUAL, "DeviceOffline"),),
        equal=("device",),
    ),
)


def inhibitions(alerts: Iterable[Alert], rules: Sequence[InhibitRule]) -> dict[str, str]:
    """Map each inhibited alert's fingerprint to the fingerprint of one alert inhibiting it.

    Only firing alerts inhibit. ``equal`` labels must have the same value on both sides (a
    label missing on both counts as equal), and an alert never inhibits itself.
    """
    pool = list(alerts)
    sources = [a for a in pool if a.state is AlertState.FIRING]
    muted: dict[str, str] = {}
    for rule in rules:
        rule_sources = [s for s in sources if matches_all(rule.source_matchers, s.labels)]
        if not rule_sources:
            continue
        for target in pool:
            if target.fingerprint in muted or not matches_all(rule.target_matchers, target.labels):
                continue
            for source in rule_sources:
                if source.fingerprint != target.fingerprint and all(
                    source.labels.get(name, "") == target.labels.get(name, "")
                    for name in rule.equal
                ):
                    muted[target.fingerprint] = source.fingerprint
                    break
    return muted
