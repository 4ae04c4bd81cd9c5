"""Alerting wired to the store: rules, receivers, the delivery worker, the engine and the
scheduler, started and stopped with the server, reloaded on SIGHUP or the reload endpoint."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from edgewatch.contract import utc_now
from edgewatch.server.alert import (
    AlertEngine,
    DeliveryWorker,
    HttpReceiver,
    ReloadResult,
    RetryPolicy,
    RulesError,
    RuleSet,
    build_receivers,
    load_default_rules,
    load_rules,
    reload_rules,
)
from edgewatch.server.alerting._persistence import DuckAlertingStore, DuckDeliveryQueue
from edgewatch.server.alerting._scheduler import FiringHook, Scheduler, unsupported_rules
from edgewatch.server.detect import REAL_TIME, TimeScale, scale_ruleset
from edgewatch.server.store import StoreProtocol

log = logging.getLogger("edgewatch.server.alerting")


def load_ruleset(path: Path | None, external_url: str = "") -> RuleSet:
    """The rules file (or the built-in defaults) with every detector known to the scheduler;
    :class:`RulesError` naming each problem otherwise."""
    ruleset = load_default_rules() if path is None else load_rules(path)
    problems = unsupported_rules(ruleset.rules)
    if problems:
        raise RulesError(ruleset.source, problems)
    if external_url:
        ruleset = replace(ruleset, external_url=external_url.rstrip("/"))
    return ruleset


class AlertingService:
    """Owns the alerting threads of one server process."""

    def __init__(
        self,
        store: StoreProtocol,
        ruleset: RuleSet,
        *,
        rules_path: Path | None,
        external_url: str = "",
        clock: Callable[[], datetime] = utc_now,
        tick_s: float = 1.0,
        delivery_poll_s: float = 1.0,
        policy: RetryPolicy | None = None,
        on_firing: list[FiringHook] | None = None,
        retention_s: float = 30 * 86_400.0,
        scale: TimeScale = REAL_TIME,
    ) -> None:
        self.rules_path = rules_path
        # Rules are written for real time; a compressed fleet (the demo) runs them scaled.
        self.scale = scale
        ruleset = scale_ruleset(ruleset, scale)
        self._external_url = external_url
        self._clock = clock
        self._delivery_poll_s = delivery_poll_s
        self._policy = policy
        self._reload_lock = threading.Lock()
        self.alert_store = DuckAlertingStore(store)
        self.queue = DuckDeliveryQueue(store)
        self._receivers: dict[str, HttpReceiver] = build_receivers(ruleset.receivers)
        self._worker = self._new_worker()
        self.engine = AlertEngine(
            ruleset, store=self.alert_store, queue=self.queue, on_enqueue=self._wake
        )
        self.scheduler = Scheduler(
            store,
            self.engine,
            self.alert_store,
            clock=clock,
            tick_s=tick_s,
            on_firing=on_firing,
            retention_s=retention_s,
            scale=scale,
        )

    @property
    def on_firing(self) -> list[FiringHook]:
        """Callbacks run with each alert that starts firing; append to register one."""
        return self.scheduler.on_firing

    def _new_worker(self) -> DeliveryWorker:
        return DeliveryWorker(
            self.queue,
            self._receivers,
            policy=self._policy,
            clock=self._clock,
            poll_interval_s=self._delivery_poll_s,
        )

    def _wake(self) -> None:
        self._worker.wake()

    def start(self, *, scheduler: bool = True) -> None:
        """Dead-letter deliveries for receivers no longer configured, start the worker and
        (unless ``scheduler`` is false, for tests driving ``run_once``) the scheduler."""
        self.queue.dead_letter_orphans(self._receivers, self._clock())
        self._worker.start()
        if scheduler:
            self.scheduler.start()

    def stop(self) -> None:
        """Stop the scheduler, then the worker, then close the receivers' connections."""
        self.scheduler.stop()
        self._worker.stop()
        for receiver in self._receivers.values():
            receiver.close()

    def reload(self) -> ReloadResult:
        """Read the rules file again; on success use it (new receivers and worker), else keep
        the rules in force and return the errors."""
        with self._reload_lock:
            current = self.engine.ruleset
            if self.rules_path is None:
                return ReloadResult(current, ("no rules file configured (built-in rules in use)",))
            result = reload_rules(self.rules_path, current)
            if not result.ok:
                return result
            problems = unsupported_rules(result.ruleset.rules)
            if problems:
                return ReloadResult(current, tuple(f"{self.rules_path}: {p}" for p in problems))
            ruleset = scale_ruleset(result.ruleset, self.scale)
            if self._external_url:
                ruleset = replace(ruleset, external_url=self._external_url.rstrip("/"))
            try:
                receivers = build_receivers(ruleset.receivers)
            except ValueError as e:
                return ReloadResult(current, (f"{self.rules_path}: {e}",))
            old_worker, old_receivers = self._worker, self._receivers
            old_worker.stop()
            for receiver in old_receivers.values():
                receiver.close()
            self._receivers = receivers
            self._worker = self._new_worker()
            self.engine.set_ruleset(ruleset)
            dead = self.queue.dead_letter_orphans(receivers, self._clock())
            if dead:
                log.warning("dead-lettered %d deliveries of receivers removed on reload", dead)
            self._worker.start()
            log.info("rules reloaded from %s: %d rules", self.rules_path, len(ruleset.rules))
            return ReloadResult(ruleset)
