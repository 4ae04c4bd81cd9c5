"""The detection scheduler: evaluates each rule on its interval for each member of its scope,
records every result, advances the alerts, and dispatches notifications.

It runs on its own thread and reads through its own cursor, so ingest never waits for it.
The clock is injectable and :meth:`Scheduler.run_once` evaluates deterministically, so tests
drive evaluations at chosen times.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from edgewatch.contract import utc_now
from edgewatch.detectors import DEFAULT_FDR, DriftResult, Verdict, fdr_control, spent_level
from edgewatch.server.alert import (
    Alert,
    AlertEngine,
    AlertState,
    AlertStore,
    Observation,
    Rule,
    RuleEvaluation,
    ScopeLevel,
)
from edgewatch.server.detect import (
    BASELINE_DETECTORS,
    EVALUATORS,
    REAL_TIME,
    Context,
    Finding,
    Member,
    TimeScale,
    Window,
    cohort_rows,
    members,
    param_problems,
)
from edgewatch.server.store import (
    EvaluationRow,
    StoreBusyError,
    StoreClosedError,
    StoreProtocol,
)

log = logging.getLogger("edgewatch.server.alerting")

_PRUNE_EVERY = timedelta(hours=1)

FiringHook = Callable[[Alert], None]
"""Called with each alert that just started firing (for example to start sampling rows)."""


FAMILY_DETECTORS = frozenset({"drift_fdr"})
"""Detectors whose findings of one evaluation are judged together (false-discovery rate)."""

_NO_VERSION = (ScopeLevel.MODEL, ScopeLevel.FLEET)
"""Scope levels whose members span model versions."""


def unsupported_rules(rules: Sequence[Rule]) -> list[str]:
    """A message for every rule the scheduler cannot evaluate: an unknown detector, a
    parameter the detector does not take or a value it cannot use, or a baseline drift
    detector at a scope whose members have no model version (hence no baseline), where
    every evaluation would be insufficient data."""
    problems = []
    for r in rules:
        if r.detector not in EVALUATORS:
            known = ", ".join(sorted(EVALUATORS))
            problems.append(f"rule {r.name!r}: unknown detector {r.detector!r}; known: {known}")
            continue
        problems.extend(f"rule {r.name!r}: {p}" for p in param_problems(r.detector, r.params))
        if r.detector in BASELINE_DETECTORS and r.scope.level in _NO_VERSION:
            problems.append(
                f"rule {r.name!r}: detector {r.detector!r} compares with a model version's"
                f" baseline, and a {r.scope.level.value}-scope member has no model version;"
                " use scope level 'version' (one model version across the fleet) or 'device'"
            )
    return problems


class Scheduler:
    """Evaluates due rules every ``tick_s`` and dispatches notifications on the same tick."""

    def __init__(
        self,
        store: StoreProtocol,
        engine: AlertEngine,
        alert_store: AlertStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        tick_s: float = 1.0,
        on_firing: list[FiringHook] | None = None,
        retention_s: float = 30 * 86_400.0,
        scale: TimeScale = REAL_TIME,
    ) -> None:
        if tick_s <= 0:
            raise ValueError(f"tick_s must be > 0, got {tick_s}")
        self._store = store
        self._engine = engine
        self._alerts = alert_store
        self._evaluations = store.evaluations
        self._clock = clock
        self._tick_s = tick_s
        self._retention = timedelta(seconds=retention_s)
        self._last_prune: datetime | None = None
        # The caller's list itself, so hooks registered later (app.state.on_firing) count.
        self.on_firing: list[FiringHook] = [] if on_firing is None else on_firing
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one run at a time (thread tick or a test's run_once)
        self._scale = scale

    def start(self) -> None:
        """Start the scheduler thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="edgewatch-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the thread after its current tick."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.run_once(self._clock())
            except Exception:
                # The scheduler must outlive a failed tick (store busy, a bug in one rule).
                log.exception("scheduler tick failed")

    def run_once(self, now: datetime) -> list[RuleEvaluation]:
        """Evaluate every rule due at ``now``, then dispatch notifications due at ``now``."""
        with self._lock:
            done = []
            devices = self._store.list_devices(limit=100_000, now=now)
            ctx = Context(self._store, now.timestamp(), devices, self._scale)
            runs = self._alerts.rule_runs()
            for rule in self._engine.ruleset.rules:
                last = runs.get(rule.name, (None, None, 0))[0]
                if last is not None and (now - last).total_seconds() < rule.interval_s:
                    continue
                evaluation = self._evaluate(ctx, rule, now, last)
                if evaluation is not None:
                    done.append(evaluation)
            self._engine.dispatch(now)
            if self._last_prune is None or now - self._last_prune >= _PRUNE_EVERY:
                self._evaluations.prune(now - self._retention)
                self._last_prune = now
            return done

    def _evaluate(
        self, ctx: Context, rule: Rule, now: datetime, last: datetime | None
    ) -> RuleEvaluation | None:
        skipped = 0
        if last is not None:
            # Evaluations missed while the server was down are skipped, not replayed, and
            # counted so the rules API shows them.
            skipped = max(0, math.floor((now - last).total_seconds() / rule.interval_s) - 1)
            if skipped:
                log.warning(
                    "rule %s: skipped %d evaluations missed since %s", rule.name, skipped, last
                )
        try:
            findings = evaluate_rule(ctx, rule, now)
        except Exception as e:  # one rule's failure must not stop the rules after it
            log.warning("rule %s: evaluation failed: %s", rule.name, e)
            self._alerts.record_run(rule.name, now, f"{type(e).__name__}: {e}", skipped=skipped)
            return None
        window = Window(now.timestamp() - rule.window_s, now.timestamp())
        rows = [_row(rule, m, f, window) for m, f in findings]
        if rule.detector in FAMILY_DETECTORS and rule.scope.level is ScopeLevel.DEVICE:
            rows.extend(cohort_rows(rule, findings, window))
        self._evaluations.append(rows)
        observations = [_observation(rule, m, f) for m, f in findings]
        evaluation = self._engine.record_evaluation(rule.name, observations, now)
        failed = member_failures(findings)
        if failed is not None:
            log.warning("rule %s: %s", rule.name, failed)
        if skipped or failed is not None:
            self._alerts.record_run(rule.name, now, failed, skipped=skipped)
        self._notify_firing(evaluation)
        return evaluation

    def _notify_firing(self, evaluation: RuleEvaluation) -> None:
        fired = {t.fingerprint for t in evaluation.transitions if t.to_state is AlertState.FIRING}
        for alert in evaluation.alerts:
            if alert.fingerprint not in fired:
                continue
            for hook in list(self.on_firing):
                try:
                    hook(alert)
                except Exception:
                    log.exception("on_firing hook %r failed for %s", hook, alert.fingerprint)


def evaluate_rule(ctx: Context, rule: Rule, now: datetime) -> list[tuple[Member, Finding]]:
    """Every finding of one evaluation of ``rule`` at ``now``, over each member in scope."""
    evaluator = EVALUATORS.get(rule.detector)
    if evaluator is None:
        raise ValueError(f"unknown detector {rule.detector!r}")
    window = Window(now.timestamp() - rule.window_s, now.timestamp())
    out: list[tuple[Member, Finding]] = []
    by_fleet = any(m.name == "fleet" for m in rule.scope.matchers)
    evaluated, failures = 0, []
    for member in members(rule.scope.level, ctx.devices, by_fleet=by_fleet):
        if not rule.scope.selects(member.label_map):
            continue
        evaluated += 1
        try:
            found = evaluator(ctx, rule, member, window)
        except (StoreBusyError, StoreClosedError):
            raise  # the store, not this member: the evaluation is retried next tick
        except Exception as e:  # this member's data; the other members are judged as usual
            failures.append(e)
            found = [_failed(rule, e)]
        out.extend((member, f) for f in found)
    if failures and len(failures) == evaluated:
        raise failures[0]  # nothing was judged: the rule failed, as a rule error says
    if rule.detector in FAMILY_DETECTORS:
        # One family per evaluation: every member × feature test, so the share of false
        # discoveries stays under the rule's FDR however large the fleet. With a daily
        # budget, the level is spent across the day's evaluations (the fleet's day: the
        # rule time scale shrinks it with the interval), so a no-drift rule raises a false
        # alert on at most alpha_per_day of days, not on most of them.
        controlled = fdr_control([f.result for _, f in out], family_level(rule, ctx.scale))
        out = [(m, replace(f, result=r)) for (m, f), r in zip(out, controlled, strict=True)]
    return out


def _failed(rule: Rule, error: Exception) -> Finding:
    """The finding of a member the detector could not judge: insufficient data, saying why.

    One device's data (a counter sent as a histogram, sums beyond the floats) must not stop
    the rule for every other member, nor change their results."""
    text = f"{type(error).__name__}: {error}"
    result = DriftResult(
        rule.detector,
        math.nan,
        math.nan,
        Verdict.INSUFFICIENT_DATA,
        f"{rule.detector}: evaluation failed: {text}",
    )
    return Finding(result, error=text)


def member_failures(findings: Sequence[tuple[Member, Finding]]) -> str | None:
    """The rule's error when some members could not be evaluated: how many, and the first
    one's labels and error; None when every member was."""
    failed = [(m, f.error) for m, f in findings if f.error is not None]
    if not failed:
        return None
    members_total = len({m.labels for m, _ in findings})
    member, error = failed[0]
    labels = ", ".join(f"{k}={v}" for k, v in member.labels)
    return f"{len(failed)} of {members_total} members could not be evaluated; {labels}: {error}"


def family_level(rule: Rule, scale: TimeScale) -> float:
    """The Benjamini–Hochberg level of one evaluation of a family rule: its ``fdr``, or with
    ``alpha_per_day`` the share of that daily budget one of the day's evaluations may spend
    (the day is the fleet's: a scaled rule's interval and day shrink alike)."""
    q = float(rule.params.get("fdr", DEFAULT_FDR))
    budget = rule.params.get("alpha_per_day")
    return q if budget is None else spent_level(q, float(budget), rule.interval_s, scale.day_s)


def _observation(rule: Rule, member: Member, finding: Finding) -> Observation:
    """The detector's verdict decides; a rule's threshold can only add a condition on the
    score (a regression test: a score over the threshold with a ``no_drift`` verdict, say a
    trend at p = 0.08, is not active)."""
    labels = member.label_map | dict(finding.labels)
    if finding.feature is not None:
        labels["feature"] = finding.feature
    result = finding.result
    if result.verdict is Verdict.INSUFFICIENT_DATA or not math.isfinite(result.score):
        return Observation(labels, None, None, finding.baseline, result.explanation)
    active = result.verdict is Verdict.DRIFT and (
        rule.threshold is None or rule.threshold.holds(result.score)
    )
    return Observation(labels, active, result.score, finding.baseline, result.explanation)


def _row(rule: Rule, member: Member, finding: Finding, window: Window) -> EvaluationRow:
    r = finding.result
    return EvaluationRow(
        rule=rule.name,
        detector=rule.detector,
        window_start=window.start,
        window_end=window.end,
        scope=rule.scope.level.value,
        device_id=member.get("device"),
        fleet=member.get("fleet"),
        model_name=member.get("model"),
        model_version=member.get("version"),
        feature=finding.feature,
        method=r.method,
        score=r.score,
        threshold=r.threshold,
        verdict=r.verdict.value,
        explanation=r.explanation,
        baseline_id=finding.baseline_id,
    )


__all__ = ["FiringHook", "Scheduler", "unsupported_rules"]
