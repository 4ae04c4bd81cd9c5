"""Where an alert leads: its evidence on the Alerts page and the device or model version it is
about. Every page that lists alerts (Fleet, Device, Alerts) links them the same way."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from edgewatch.contract import SEVERITIES
from edgewatch.contract import AlertOut as Alert
from edgewatch.dashboard import _format as fmt

ALERTS_PAGE = "_alerts_page.py"
DEVICE_PAGE = "_device_page.py"
VERSIONS_PAGE = "_versions_page.py"
# Relative links into the app, as st.dataframe's LinkColumn follows them; the display text is
# the link's last query value (the device id or the version).
_SUBJECT_TEXT = r"(?:\?device=|&version=)([^&]*)$"


def alert_name(a: Alert) -> str:
    """The alert's name as its rule file gives it."""
    return a.labels.get("alertname", a.rule)


def evidence_url(a: Alert) -> str:
    """The Alerts page opened on ``a``: its evidence, labels and history."""
    return f"alerts?alert={quote(a.fingerprint, safe='')}"


def subject_url(a: Alert) -> str | None:
    """The page of what the alert is about: its device, else its model version."""
    device = a.labels.get("device")
    if device:
        return f"device?device={quote(device, safe='')}"
    model, version = a.labels.get("model"), a.labels.get("version")
    if model and version:
        return f"versions?model={quote(model, safe='')}&version={quote(version, safe='')}"
    return None


def subject_link(a: Alert) -> None:
    """A same-tab link to the device or version page the alert is about, if any."""
    device = a.labels.get("device")
    model, version = a.labels.get("model"), a.labels.get("version")
    if device:
        st.page_link(
            DEVICE_PAGE,
            label=f"Open device {device}",
            icon=":material/developer_board:",
            query_params={"device": device},
        )
    elif model and version:
        st.page_link(
            VERSIONS_PAGE,
            label=f"Open {model} {version} on the Versions page",
            icon=":material/compare_arrows:",
            query_params={"model": model, "version": version},
        )


def by_urgency(alerts: list[Alert]) -> list[Alert]:
    """Critical first, then warning, info; the longest-firing first within a severity."""
    rank: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(
        alerts,
        key=lambda a: (rank.get(a.severity, len(rank)), (a.fired_at or a.active_at).timestamp()),
    )


def link_columns(
    *, subject: bool = True, subject_label: str = "on", subject_text: str = _SUBJECT_TEXT
) -> dict[str, Any]:
    """Column settings that turn the ``evidence`` (and ``on``) cells into links; the ``on``
    column shows the device id or version unless ``subject_text`` says otherwise."""
    columns: dict[str, Any] = {
        "evidence": st.column_config.LinkColumn(
            "evidence", display_text="evidence ›", help="detector, score, window and baseline"
        )
    }
    if subject:
        columns["on"] = st.column_config.LinkColumn(
            subject_label,
            display_text=subject_text,
            help="the page of the device or model version it is about",
        )
    return columns


def firing_frame(alerts: list[Alert]) -> pd.DataFrame:
    """Firing alerts as the Fleet page lists them: name, what about, since, severity, links."""
    return pd.DataFrame(
        {
            "severity": [a.severity for a in alerts],
            "alert": [alert_name(a) for a in alerts],
            "summary": [a.summary for a in alerts],
            "on": [subject_url(a) for a in alerts],
            "since": [fmt.ago(a.fired_at or a.active_at) for a in alerts],
            "evidence": [evidence_url(a) for a in alerts],
        }
    )
