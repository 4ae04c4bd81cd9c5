"""Bodies for each receiver kind: Alertmanager's webhook v4, Slack blocks, Alertmanager's
``POST /api/v2/alerts``. Pure functions of a notification and the receiver's config."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from ._alert import Alert, AlertState
from ._config import ReceiverConfig, ReceiverKind
from ._dispatch import Notification
from ._time import format_time

__all__ = [
    "ZERO_TIME",
    "alertmanager_body",
    "encode_body",
    "render_body",
    "slack_body",
    "webhook_body",
]

#: Alertmanager writes this ``endsAt`` for alerts that have not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"
_SLACK_MAX_ALERT_BLOCKS = 10


def _generator_url(external_url: str, alert: Alert) -> str:
    return f"{external_url.rstrip('/')}/alerts/{alert.fingerprint}" if external_url else ""


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def webhook_body(note: Notification, config: ReceiverConfig, external_url: str) -> dict[str, Any]:
    """Alertmanager's version-4 webhook payload, so tools that parse it work unchanged."""
    alerts = list(note.alerts)
    truncated = 0
    if config.max_alerts and len(alerts) > config.max_alerts:
        truncated = len(alerts) - config.max_alerts
        alerts = alerts[: config.max_alerts]
    return {
        "receiver": note.receiver,
        "status": note.status,
        "alerts": [
            {
                "status": "firing" if a.state is AlertState.FIRING else "resolved",
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": format_time(a.active_at),
                "endsAt": ZERO_TIME
                if a.state is AlertState.FIRING or a.resolved_at is None
                else format_time(a.resolved_at),
                "generatorURL": _generator_url(external_url, a),
                "fingerprint": a.fingerprint,
            }
            for a in alerts
        ],
        "groupLabels": dict(note.group_labels),
        "commonLabels": _common([a.labels for a in note.alerts]),
        "commonAnnotations": _common([a.annotations for a in note.alerts]),
        "externalURL": external_url,
        "version": "4",
        "groupKey": note.group_key,
        "truncatedAlerts": truncated,
    }


def _alert_line(alert: Alert) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    where = ", ".join(
        f"{k}={alert.labels[k]}"
        for k in ("device", "model", "version", "feature")
        if k in alert.labels
    )
    state = "FIRING" if alert.state is AlertState.FIRING else "RESOLVED"
    head = f"*[{state}] {alert.labels.get('alertname', alert.rule)}*"
    if where:
        head += f" ({where})"
    return f"{head}\n{summary}" if summary else head


def slack_body(note: Notification, config: ReceiverConfig, external_url: str) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message: a plain ``text`` fallback plus blocks."""
    firing = sum(a.state is AlertState.FIRING for a in note.alerts)
    name = note.group_labels.get("alertname") or _common([a.labels for a in note.alerts]).get(
        "alertname", "alerts"
    )
    status = f"FIRING:{firing}" if firing else "RESOLVED"
    text = f"[{status}] {name}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
    ]
    for alert in note.alerts[:_SLACK_MAX_ALERT_BLOCKS]:
        section: dict[str, Any] = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _alert_line(alert)[:3000]},
        }
        link = _generator_url(external_url, alert)
        if link:
            section["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open"},
                "url": link,
            }
        blocks.append(section)
    hidden = len(note.alerts) - _SLACK_MAX_ALERT_BLOCKS
    footer = f"receiver {note.receiver} · group {note.group_key}"
    if hidden > 0:
        footer = f"and {hidden} more alerts · " + footer
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer[:3000]}]})
    return {"text": text, "blocks": blocks}


def alertmanager_body(
    note: Notification, config: ReceiverConfig, external_url: str
) -> list[dict[str, Any]]:
    """Alertmanager API v2 alerts. Firing alerts end ``4 × resend_interval`` from now, as
    Prometheus sets them, so they lapse if we stop resending; resolved ones end when resolved."""
    lapse = note.created_at + timedelta(seconds=4 * config.resend_interval_s)
    return [
        {
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "startsAt": format_time(a.active_at),
            "endsAt": format_time(
                lapse if a.state is AlertState.FIRING or a.resolved_at is None else a.resolved_at
            ),
            "generatorURL": _generator_url(external_url, a),
        }
        for a in note.alerts
    ]


def render_body(note: Notification, config: ReceiverConfig, external_url: str) -> Any:
    """The JSON body for ``config``'s kind."""
    if config.kind is ReceiverKind.WEBHOOK:
        return webhook_body(note, config, external_url)
    if config.kind is ReceiverKind.SLACK:
        return slack_body(note, config, external_url)
    return alertmanager_body(note, config, external_url)


def encode_body(body: Any) -> str:
    """Compact JSON text: the exact bytes that are signed and sent on every attempt."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
