"""The alerting runtime: the scheduler that runs the rules over ``edgewatch.server.detect``'s
evaluators, the alert state and delivery queue kept in the store (adapters from the
``edgewatch.server.alert`` protocols to the store's alerting areas), and the service that
wires them to the receivers for the app."""

from __future__ import annotations

from edgewatch.server.alerting._persistence import DuckAlertingStore, DuckDeliveryQueue
from edgewatch.server.alerting._scheduler import FiringHook, Scheduler, unsupported_rules
from edgewatch.server.alerting._service import AlertingService, load_ruleset

__all__ = [
    "AlertingService",
    "DuckAlertingStore",
    "DuckDeliveryQueue",
    "FiringHook",
    "Scheduler",
    "load_ruleset",
    "unsupported_rules",
]
