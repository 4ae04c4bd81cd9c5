"""Alerts page: pending, firing and resolved alerts with filters; one alert (a selected row or
a linked fingerprint) with its evidence, history and a link to its device or version;
acknowledge it, silence it (matchers prefilled from its labels), expire silences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from edgewatch.contract import ALERT_STATES, SEVERITIES, ApiError, BaselineBriefOut, MatcherIn
from edgewatch.contract import AlertDetailOut as AlertDetail
from edgewatch.contract import AlertOut as Alert
from edgewatch.contract import SilenceOut as Silence
from edgewatch.dashboard import _alert_links as links
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._client import Client
from edgewatch.dashboard._page import PageContext, run_page, show_error

SILENCE_DURATIONS_S = (3600.0, 4 * 3600.0, 86_400.0, 7 * 86_400.0)
AUTHOR_KEY = "ew_author"
PICK_KEY = "alert_pick"
_SELECTED_KEY = "ew_alert_row"


def _fetch(
    client: Client, states: Sequence[str], severities: Sequence[str], **labels: str
) -> list[Alert]:
    """Alerts in any of ``states`` and ``severities`` (the API filters one value at a time)."""
    alerts = client.alerts(
        state=states[0] if len(states) == 1 else None,
        severity=severities[0] if len(severities) == 1 else None,
        limit=1000,
        **{k: v for k, v in labels.items() if v},
    )
    return [a for a in alerts if a.state in states and a.severity in severities]


def _table(alerts: list[Alert]) -> str | None:
    """The alert list; answers the fingerprint of a row the user just selected, if any."""
    event = st.dataframe(
        pd.DataFrame(
            {
                "state": [a.state for a in alerts],
                "severity": [a.severity for a in alerts],
                "alert": [links.alert_name(a) for a in alerts],
                "summary": [a.summary for a in alerts],
                "device": [a.labels.get("device", "—") for a in alerts],
                "model": [
                    f"{a.labels.get('model', '—')} {a.labels.get('version', '')}".strip()
                    for a in alerts
                ],
                "on": [links.subject_url(a) for a in alerts],
                "value": [fmt.number(a.value) for a in alerts],
                "since": [fmt.ago(a.fired_at or a.active_at) for a in alerts],
                "acknowledged": [f"{a.ack.author}" if a.ack else "" for a in alerts],
                "muted": [
                    "silenced" if a.silenced_by else "inhibited" if a.inhibited else ""
                    for a in alerts
                ],
            }
        ),
        hide_index=True,
        key="alerts_table",
        column_config=links.link_columns(subject_label="its page", subject_text="open ›"),
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows
    picked = alerts[rows[0]].fingerprint if rows and rows[0] < len(alerts) else None
    if picked == st.session_state.get(_SELECTED_KEY):
        return None  # the same selection as before: the selectbox below may have moved on
    st.session_state[_SELECTED_KEY] = picked
    return picked


def _detail(detail: AlertDetail) -> None:
    a = detail
    st.markdown(f"### {a.summary}")
    st.markdown(
        f"**{a.state}** · severity **{a.severity}** · rule `{a.rule}` · fingerprint `{a.fingerprint}`"
    )
    if a.annotations.get("description"):
        st.write(a.annotations["description"])
    cols = st.columns(4)
    cols[0].metric("Active since", fmt.ago(a.active_at))
    cols[1].metric("Fired", fmt.ago(a.fired_at))
    cols[2].metric("Resolved", fmt.ago(a.resolved_at))
    cols[3].metric("Value", fmt.number(a.value))
    if a.ack is not None:
        st.success(f"Acknowledged by {a.ack.author} {fmt.ago(a.ack.at)}: {a.ack.comment}")
    if a.silenced_by:
        st.info(f"Silenced by {', '.join(a.silenced_by)}")
    if a.inhibited:
        st.info("Inhibited: a related alert (such as the device being offline) mutes it.")
    e = detail.evidence
    st.markdown("**Evidence**")
    if e is None:
        st.caption("The server sent no evidence for this alert.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "detector": [e.detector],
                    "method": [e.method or ""],
                    "score": [fmt.number(e.score, 4)],
                    "p-value": [fmt.number(e.p_value, 4)],
                    "threshold": [fmt.number(e.threshold, 4)],
                    "verdict": [e.verdict],
                    "window": [f"{fmt.when(e.window.from_)} → {fmt.when(e.window.to)}"],
                    "baseline": [_baseline(e.baseline)],
                }
            ),
            hide_index=True,
            key="evidence_table",
        )
        if e.explanation:
            st.write(e.explanation)
        if e.p_value is not None:
            st.caption(
                f"{e.method} is a significance test: its score is the p-value, and it judges "
                "drift when the p-value falls below the threshold."
            )
    links.subject_link(a)
    left, right = st.columns(2)
    with left:
        st.markdown("**Labels**")
        st.dataframe(
            pd.DataFrame({"label": list(a.labels), "value": list(a.labels.values())}),
            hide_index=True,
            key="labels_table",
        )
    with right:
        st.markdown("**History**")
        st.dataframe(
            pd.DataFrame(
                {
                    "state": [h.state for h in detail.history],
                    "at": [fmt.when(h.at) for h in detail.history],
                }
            ),
            hide_index=True,
            key="history_table",
        )
    if detail.dashboard_url:
        st.caption(f"Link to this alert: {detail.dashboard_url}")


def _baseline(baseline: BaselineBriefOut | None) -> str:
    """The baseline the detector judged against, in one cell: its source, size, age and id."""
    if baseline is None:
        return "—"
    if baseline.deleted:
        return f"{baseline.id} (deleted since)"
    parts = [baseline.source or baseline.profile or "baseline"]
    if baseline.rows is not None:
        parts.append(f"{baseline.rows} rows")
    if baseline.window is not None:
        parts.append(f"window {fmt.when(baseline.window.from_)} → {fmt.when(baseline.window.to)}")
    if baseline.created_at is not None:
        parts.append(f"created {fmt.when(baseline.created_at)}")
    parts.append(f"id {baseline.id}")
    return " · ".join(parts)


def _ack_form(client: Client, a: Alert) -> None:
    with st.form("ack_form"):
        st.markdown("**Acknowledge**")
        author = st.text_input("Your name", key=AUTHOR_KEY)
        comment = st.text_input("Comment", placeholder="looking into it")
        if st.form_submit_button("Acknowledge", disabled=a.state == "resolved"):
            if not author.strip():
                st.error("Say who acknowledges: fill in your name.")
                return
            try:
                acked = client.ack(a.fingerprint, author=author.strip(), comment=comment.strip())
            except ApiError as e:
                show_error(e)
                return
            st.success(f"Acknowledged by {acked.ack.author if acked.ack else author}.")


def _silence_form(client: Client, a: Alert) -> None:
    with st.form("silence_form"):
        st.markdown("**Silence**")
        duration = st.selectbox("For", SILENCE_DURATIONS_S, format_func=fmt.duration)
        st.caption("Matchers (prefilled from the alert's labels; untick to widen the silence)")
        edited = st.data_editor(
            pd.DataFrame(
                {
                    "use": [True] * len(a.labels),
                    "name": list(a.labels),
                    "value": list(a.labels.values()),
                    "regex": [False] * len(a.labels),
                }
            ),
            hide_index=True,
            key="silence_matchers",
            num_rows="dynamic",
        )
        author = st.text_input("Created by", key=f"{AUTHOR_KEY}_silence")
        comment = st.text_input("Comment (why)", placeholder="planned maintenance")
        if st.form_submit_button("Silence"):
            matchers = [
                MatcherIn(
                    name=r["name"].strip(), value=_text(r["value"]), is_regex=_ticked(r["regex"])
                )
                for r in edited.to_dict("records")
                if _ticked(r["use"]) and isinstance(r["name"], str) and r["name"].strip()
            ]
            if not matchers:
                st.error("A silence needs at least one matcher.")
                return
            if not author.strip() or not comment.strip():
                st.error("Say who silences and why: fill in both fields.")
                return
            try:
                silence = client.create_silence(
                    matchers,
                    duration_s=duration,
                    created_by=author.strip(),
                    comment=comment.strip(),
                )
            except ApiError as e:
                show_error(e)
                return
            st.success(f"Silence {silence.id} until {fmt.when(silence.ends_at)}.")


def _ticked(cell: object) -> bool:
    """A checkbox cell of the matcher editor; rows added by hand start empty (unticked)."""
    return isinstance(cell, bool | np.bool_) and bool(cell)


def _text(cell: object) -> str:
    """A text cell of the matcher editor; an empty new cell is an empty string."""
    return cell if isinstance(cell, str) else ""


def _silences(client: Client) -> None:
    st.subheader("Silences")
    silences = client.silences()
    if not silences:
        st.caption("No silences. Silence an alert above to mute its notifications for a while.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "id": [s.id for s in silences],
                "status": [s.status for s in silences],
                "matchers": [", ".join(str(m) for m in s.matchers) for s in silences],
                "starts": [fmt.when(s.starts_at) for s in silences],
                "ends": [fmt.when(s.ends_at) for s in silences],
                "created by": [s.created_by for s in silences],
                "comment": [s.comment for s in silences],
            }
        ),
        hide_index=True,
        key="silences_table",
    )
    live = [s for s in silences if s.status != "expired"]
    if not live:
        return
    labels = {s.id: _silence_label(s) for s in live}
    chosen = st.selectbox(
        "Silence to expire", list(labels), format_func=labels.__getitem__, key="expire_pick"
    )
    if st.button("Expire silence", key="expire_silence"):
        try:
            expired = client.expire_silence(chosen)
        except ApiError as e:
            show_error(e)
            return
        st.success(f"Silence {expired.id} is now {expired.status}.")


def _silence_label(s: Silence) -> str:
    return f"{s.id} · {', '.join(str(m) for m in s.matchers)} · until {fmt.when(s.ends_at)}"


def render(ctx: PageContext) -> None:
    c1, c2, c3, c4, c5 = st.columns(5)
    states = c1.multiselect("State", ALERT_STATES, default=["firing", "pending"])
    severities = c2.multiselect("Severity", SEVERITIES, default=list(SEVERITIES))
    device = c3.text_input("Device")
    model = c4.text_input("Model")
    version = c5.text_input("Version")
    alerts = _fetch(
        ctx.client,
        states or list(ALERT_STATES),
        severities or list(SEVERITIES),
        device=device.strip(),
        model=model.strip(),
        version=version.strip(),
    )
    linked = st.query_params.get("alert")
    if not alerts and not linked:
        st.info(
            "No alerts match. Alerts appear when a rule's condition holds for its `for` "
            "duration; widen the filters (resolved alerts are hidden by default)."
        )
    else:
        if alerts:
            selected = _table(alerts)
            if selected is not None:
                st.session_state[PICK_KEY] = selected
            st.caption("Select a row to see that alert's evidence below.")
        names = {a.fingerprint: f"{a.severity} · {a.state} · {a.summary}" for a in alerts}
        if linked and linked not in names:
            names = {linked: f"linked alert {linked}", **names}
        options = list(names)
        if st.session_state.get(PICK_KEY) not in names:
            st.session_state[PICK_KEY] = linked if linked in names else options[0]
        chosen = st.selectbox("Alert", options, format_func=names.__getitem__, key=PICK_KEY)
        detail = ctx.client.alert(chosen)
        _detail(detail)
        left, right = st.columns(2)
        with left:
            _ack_form(ctx.client, detail)
        with right:
            _silence_form(ctx.client, detail)
    _silences(ctx.client)


run_page("Alerts", render, alerting=True)
