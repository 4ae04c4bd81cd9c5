"""Alerting: rules, the alert state machine, silences, inhibition, acknowledgements,
grouped notifications and their signed, retried delivery to receivers.

Everything here is independent of the store: state that must survive a restart is a
frozen dataclass with ``to_dict``/``from_dict``, saved through the Protocols in
:mod:`._store` and :mod:`._queue`.
"""

from __future__ import annotations

from ._alert import (
    RESOLVED_RETENTION_S,
    Alert,
    AlertState,
    Observation,
    RuleEvaluation,
    Transition,
    alert_labels,
    evaluate_rule,
)
from ._config import (
    DEFAULT_GROUP_TIMING,
    GroupTiming,
    InhibitRule,
    ReceiverConfig,
    ReceiverKind,
    Rule,
    RuleSet,
    Scope,
    ScopeLevel,
    Severity,
    Threshold,
    redact_url,
)
from ._delivery import (
    Attempt,
    Delivery,
    DeliveryState,
    Outcome,
    RetryDecision,
    RetryPolicy,
    classify_status,
)
from ._dispatch import DispatchResult, GroupState, Notification, dispatch, group_key
from ._duration import DurationError, format_duration, parse_duration
from ._engine import AlertEngine, AlertStatus
from ._fingerprint import fingerprint
from ._inhibit import DEFAULT_INHIBIT_RULES, inhibitions
from ._matchers import Matcher, MatcherError, MatchOp, matches_all, parse_matcher
from ._payload import (
    ZERO_TIME,
    alertmanager_body,
    encode_body,
    render_body,
    slack_body,
    webhook_body,
)
from ._queue import (
    AttemptRecording,
    DeliveryQueue,
    InMemoryDeliveryQueue,
    UnknownDeliveryError,
    with_attempt,
)
from ._receivers import HttpReceiver, Receiver, build_receivers, parse_retry_after
from ._rules_file import (
    ReloadResult,
    RulesError,
    default_rules_path,
    load_default_rules,
    load_rules,
    load_rules_text,
    reload_rules,
)
from ._signing import SECRET_PREFIX, generate_secret, secret_key, sign, signature_headers
from ._silence import (
    Ack,
    AckError,
    Silence,
    SilenceError,
    SilenceExpiredError,
    SilenceState,
    silencing,
)
from ._store import (
    AckStore,
    AlertingStore,
    AlertStore,
    GroupStore,
    InMemoryAlertingStore,
    RuleRun,
    SilenceStore,
)
from ._template import TEMPLATE_VARIABLES, Template, TemplateError
from ._time import format_time, parse_time
from ._worker import DeliveryWorker

__all__ = [
    "DEFAULT_GROUP_TIMING",
    "DEFAULT_INHIBIT_RULES",
    "RESOLVED_RETENTION_S",
    "SECRET_PREFIX",
    "TEMPLATE_VARIABLES",
    "ZERO_TIME",
    "Ack",
    "AckError",
    "AckStore",
    "Alert",
    "AlertEngine",
    "AlertState",
    "AlertStatus",
    "AlertStore",
    "AlertingStore",
    "Attempt",
    "AttemptRecording",
    "Delivery",
    "DeliveryQueue",
    "DeliveryState",
    "DeliveryWorker",
    "DispatchResult",
    "DurationError",
    "GroupState",
    "GroupStore",
    "GroupTiming",
    "HttpReceiver",
    "InMemoryAlertingStore",
    "InMemoryDeliveryQueue",
    "InhibitRule",
    "MatchOp",
    "Matcher",
    "MatcherError",
    "Notification",
    "Observation",
    "Outcome",
    "Receiver",
    "ReceiverConfig",
    "ReceiverKind",
    "ReloadResult",
    "RetryDecision",
    "RetryPolicy",
    "Rule",
    "RuleEvaluation",
    "RuleRun",
    "RuleSet",
    "RulesError",
    "Scope",
    "ScopeLevel",
    "Severity",
    "Silence",
    "SilenceError",
    "SilenceExpiredError",
    "SilenceState",
    "SilenceStore",
    "Template",
    "TemplateError",
    "Threshold",
    "Transition",
    "UnknownDeliveryError",
    "alert_labels",
    "alertmanager_body",
    "build_receivers",
    "classify_status",
    "default_rules_path",
    "dispatch",
    "encode_body",
    "evaluate_rule",
    "fingerprint",
    "format_duration",
    "format_time",
    "generate_secret",
    "group_key",
    "inhibitions",
    "load_default_rules",
    "load_rules",
    "load_rules_text",
    "matches_all",
    "parse_duration",
    "parse_matcher",
    "parse_retry_after",
    "parse_time",
    "redact_url",
    "reload_rules",
    "render_body",
    "secret_key",
    "sign",
    "signature_headers",
    "silencing",
    "slack_body",
    "webhook_body",
    "with_attempt",
]
