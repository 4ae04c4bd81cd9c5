"""Drift-triggered capture: when a drift alert starts firing, sample its devices harder.

The app registers ``DriftCapture(...).on_drift_alert_firing`` in its firing-callback list; for
an alert labelled with a device it raises that device's budget, for one labelled with a
model version it raises every device of that version, for ``for_s`` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

from edgewatch.detectors import DRIFT_METHODS
from edgewatch.server.store import SampleStoreProtocol, SamplingSetting

log = logging.getLogger(__name__)
DRIFT_RULES = frozenset({"FeatureDrift", "PredictionDrift"})
"""The default rules' drift alerts (used when no rule set is at hand)."""


class RuleLike(Protocol):
    """What ``drift_rule_names`` reads of a rule."""

    @property
    def name(self) -> str: ...

    @property
    def detector(self) -> str: ...


def drift_rule_names(rules: Iterable[RuleLike]) -> frozenset[str]:
    """Names of the rules that run a drift detector (PSI, Jensen-Shannon, KS ...)."""
    return frozenset(
        r.name for r in rules if r.detector in DRIFT_METHODS or r.detector == "drift_fdr"
    )


class FiringAlert(Protocol):
    """What the capture reads of an alert: its rule name and labels."""

    @property
    def rule(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


class DriftCapture:
    """Raises sampling budgets for the devices a firing drift alert is about."""

    def __init__(
        self,
        samples: SampleStoreProtocol,
        *,
        rows_per_hour: int,
        for_s: float,
        rules: Collection[str] | Callable[[], Collection[str]] = DRIFT_RULES,
    ) -> None:
        self._samples = samples
        self.rows_per_hour = rows_per_hour
        self.for_s = for_s
        self._rules = rules

    @property
    def rules(self) -> Collection[str]:
        """The drift rules now (a callable source follows rule reloads)."""
        return self._rules() if callable(self._rules) else self._rules

    def on_drift_alert_firing(self, alert: FiringAlert) -> list[SamplingSetting]:
        """Raise the budget of the alert's device, or of every device of its model version."""
        rules = self.rules
        if alert.rule not in rules and alert.labels.get("alertname") not in rules:
            return []
        labels = alert.labels
        device = labels.get("device")
        if device:
            devices = [device]
        elif labels.get("model") and labels.get("version"):
            devices = self._samples.devices_of_version(labels["model"], labels["version"])
        else:
            return []
        reason = f"drift alert {alert.rule} " + ",".join(
            f"{k}={labels[k]}" for k in ("device", "model", "version", "feature") if k in labels
        )
        raised = self._samples.raise_budget(
            devices, rows_per_hour=self.rows_per_hour, for_s=self.for_s, reason=reason
        )
        log.info(
            "raised sampling of %d devices to %d rows/h: %s",
            len(devices),
            self.rows_per_hour,
            reason,
        )
        return raised
