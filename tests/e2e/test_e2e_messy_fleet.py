"""The built-in rules, as shipped, on a messy healthy fleet with the incidents of issue #14.

30 devices (``messy_fleet``) write 24.6 h of history and then 35 live minutes into a real
DuckDB store through the real OTLP conversion; the real scheduler evaluates the built-in
rules every live minute. The history is compressed, not the rules: it is written at full
one-minute resolution where a rule reads minute by minute (the last 35 minutes, and the same time
yesterday that the seasonal throughput rule compares with) and as one one-minute export
every ten minutes elsewhere (sums, ratios, trends and load bands read the same from it).

Printed: per incident whether its alert fired, the delay from onset to active and to firing
in evaluation intervals of its rule, and every false alert with the false-alert rate per
evaluated healthy device-day.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from messy_fleet import (
    CLASS_SHARE,
    CLASSES,
    CLOCK_SKEW_S,
    FEATURES,
    MODEL,
    SKEWED,
    Fleet,
    fleet,
    incidents,
)

from edgewatch.detectors import categorical_counts
from edgewatch.server.alert import AlertState, load_default_rules
from edgewatch.server.alerting import AlertingService
from edgewatch.server.detect._profile import PREDICTION, SCORE, categorical_profile, numeric_profile
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.settings import Settings
from edgewatch.server.store import Store

HISTORY_S = 24.6 * 3600
LIVE_MIN = 35
ONSET_MIN = 5
DAY_S = 86_400.0
LIVE_START = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
"""A fixed live half hour, so every run sees the same data: 23:30 in UTC−5 and 05:30 in UTC+1
(night, the dawn ramp about to start: the hard case for false alerts), 12:30 in UTC+8.
Ingest and the scheduler take their time as arguments; no wall clock is involved."""
SPARSE_EVERY = 10
"""Outside the minute-resolution stretches, one one-minute export every this many minutes."""


@dataclass
class Seen:
    """An alert as the run saw it."""

    rule: str
    labels: dict[str, str]
    active_s: float
    fired_s: float | None = None


def _write(store: Store, fleet_: Fleet, end_s: float, limiter: CardinalityLimiter) -> None:
    request = fleet_.minute(fleet_.specs, end_s)
    if not request.resource_metrics:
        return
    converted = convert(request, received_s=end_s + 1.0, limits=IngestLimits(), limiter=limiter)
    assert converted.rejected_count == 0, converted.rejected
    store.submit(converted.batch).result()


def _dense(t: float, live_s: float) -> bool:
    """Minute resolution where rules read minute by minute."""
    yesterday = live_s - DAY_S
    return t >= live_s - 35 * 60 or yesterday - 1200 <= t <= yesterday + (LIVE_MIN + 5) * 60


def _baselines(store: Store, now: datetime) -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    profiles = [numeric_profile(f, rng.normal(i, 1.0, n)) for i, f in enumerate(FEATURES)]
    classes = rng.choice(CLASSES, n, p=CLASS_SHARE).tolist()
    profiles.append(categorical_profile("prediction", classes, PREDICTION))
    profiles.append(numeric_profile("score", rng.beta(8.6, 1.4, n), SCORE))
    assert categorical_counts(classes).count == n
    for version in ("v1", "v2", "v3"):
        store.baselines.create(
            model_name=MODEL,
            model_version=version,
            source="upload",
            rows=n,
            features=list(FEATURES),
            profiles=profiles,
            now=now,
        )


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_built_in_rules_on_a_messy_fleet(tmp_path: Path) -> None:
    started = time.monotonic()
    live_s = LIVE_START.timestamp()
    onset_s = live_s + ONSET_MIN * 60
    the_fleet = Fleet(fleet(), incidents(onset_s))
    db = tmp_path / "messy.duckdb"
    store = Store.open(db, Settings(db_path=db).store_config(maintenance=False))
    limiter = CardinalityLimiter(max_series_per_metric=100_000, max_series_per_device=100_000)
    try:
        t = live_s - HISTORY_S // 60 * 60
        minute = 0
        while t < live_s:
            if _dense(t, live_s) or minute % SPARSE_EVERY == 0:
                _write(store, the_fleet, t, limiter)
            t += 60
            minute += 1
        store.roll_up()
        print(f"history written: {time.monotonic() - started:.0f} s", file=sys.stderr)
        _baselines(store, datetime.fromtimestamp(live_s - 3600, UTC))
        history_s = time.monotonic() - started

        ruleset = load_default_rules()
        service = AlertingService(store, ruleset, rules_path=None)
        seen: dict[str, Seen] = {}
        for m in range(LIVE_MIN + 1):
            end_s = live_s + m * 60
            _write(store, the_fleet, end_s, limiter)
            store.roll_up(hours=False)
            now = datetime.fromtimestamp(end_s + 2, UTC)
            service.scheduler.run_once(now)
            print(f"live minute {m}: {time.monotonic() - started:.0f} s", file=sys.stderr)
            for status in service.engine.statuses(now):
                a = status.alert
                if a.state not in (AlertState.PENDING, AlertState.FIRING):
                    continue
                s = seen.setdefault(
                    a.fingerprint, Seen(a.rule, dict(a.labels), a.active_at.timestamp())
                )
                if a.state is AlertState.FIRING and s.fired_s is None:
                    s.fired_s = now.timestamp()
        errors = {r.name: e for r in ruleset.rules if (e := _last_error(service, r.name))}
        assert errors == {}
        report, false_alerts, missed, delays = _report(the_fleet, seen, ruleset, live_s)
        print(
            report + f"\nrun: history {history_s:.0f} s, total {time.monotonic() - started:.0f} s"
        )
        assert missed == [], missed
        assert false_alerts == [], false_alerts
        # Within two evaluation intervals of the onset, but for the error burst on a device at
        # night: ~9 inferences a minute at 5 % errors give the ~4 errors the count test needs
        # only after about 10 minutes (bench/fleet_rules.py: median 9.5 at night, 2 by day).
        # Drift rules that spend a daily false-alarm budget (alpha_per_day) may take a third:
        # their per-evaluation level is that budget spread over the day's evaluations.
        # (Evaluations run 2 s after each minute's export: 2.0 intervals reads 2.007.)
        spending = {
            inc.kind
            for inc in the_fleet.incidents
            if "alpha_per_day" in ruleset.rule(inc.rule).params
        }
        slow = {
            k: d
            for k, d in delays.items()
            if round(d, 1) > (3.0 if k in spending else 2.0) and k != "error_burst"
        }
        assert slow == {}, slow
    finally:
        store.close()


def _last_error(service: AlertingService, rule: str) -> str | None:
    return service.alert_store.rule_runs().get(rule, (None, None, 0))[1]


def _report(
    the_fleet: Fleet, seen: dict[str, Seen], ruleset: object, live_s: float
) -> tuple[str, list[str], list[str], dict[str, float]]:
    rules = {r.name: r for r in load_default_rules().rules}
    incident_devices = {d for inc in the_fleet.incidents for d in inc.devices}
    lines = [
        f"{'incident':<19} {'devices':<24} {'rule':<22} {'fired':<5} "
        f"{'active':>7} {'firing':>7}  (delay from onset, in the rule's evaluation intervals)",
        "-" * 110,
    ]
    missed = []
    delays: dict[str, float] = {}
    explained: set[int] = set()
    alerts = list(seen.values())
    for inc in the_fleet.incidents:
        interval = rules[inc.rule].interval_s
        visible = max(inc.onset_s, live_s)
        hits = [
            (i, a)
            for i, a in enumerate(alerts)
            if a.rule == inc.rule
            and (
                a.labels.get("device") in inc.devices
                or (inc.version_scope is not None and a.labels.get("version") == inc.version_scope)
            )
        ]
        for i, a in enumerate(alerts):
            if a.labels.get("device") in inc.devices or (
                inc.version_scope is not None and a.labels.get("version") == inc.version_scope
            ):
                explained.add(i)
        fired = [a for _, a in hits if a.fired_s is not None]
        active = min((a.active_s for _, a in hits), default=None)
        first_fired = min((a.fired_s for a in fired if a.fired_s is not None), default=None)
        if not fired or first_fired is None:
            missed.append(inc.kind)
        else:
            delays[inc.kind] = max(first_fired - visible, 0.0) / interval

        def delay(at: float | None, interval: float = interval, visible: float = visible) -> str:
            return "-" if at is None else f"{max(at - visible, 0.0) / interval:.1f}"

        lines.append(
            f"{inc.kind:<19} {','.join(inc.devices):<24} {inc.rule:<22} "
            f"{'yes' if fired else 'NO':<5} {delay(active):>7} {delay(first_fired):>7}"
        )
    healthy = [s.device_id for s in the_fleet.specs if s.device_id not in incident_devices]
    false_alerts, pending_only, conditions = [], [], []
    for i, a in enumerate(alerts):
        if i in explained:
            continue
        where = a.labels.get("device") or f"{a.labels.get('model')} {a.labels.get('version')}"
        if a.rule == "DeviceClockSkew" and where == SKEWED:
            conditions.append(f"{a.rule} on {where}")  # its clock is off: the rule's job
        elif a.fired_s is None:
            pending_only.append(f"{a.rule} on {where}")
        else:
            false_alerts.append(f"{a.rule} on {where}")
    device_days = len(healthy) * LIVE_MIN * 60 / DAY_S
    lines += [
        "-" * 110,
        f"recall: {len(the_fleet.incidents) - len(missed)} of {len(the_fleet.incidents)} incident types",
        f"false alerts: {len(false_alerts)} {false_alerts} over {len(healthy)} healthy devices x "
        f"{LIVE_MIN} min = {device_days:.3f} device-days -> "
        f"{len(false_alerts) / device_days:.2f} per healthy device-day",
        f"pending, never firing, on healthy devices: {len(pending_only)} {pending_only}",
        f"{SKEWED}'s clock runs {CLOCK_SKEW_S:.0f} s behind; alerts for that: {conditions}",
    ]
    return "\n".join(lines), false_alerts, missed, delays
