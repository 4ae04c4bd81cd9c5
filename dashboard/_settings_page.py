"""Settings page: loaded alert rules with their last evaluation, receivers with delivery
health (endpoints reduced to their host, secrets never shown), deliveries, baselines, tokens."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from edgewatch.contract import AlertingDisabledError, ApiError, NotFoundError
from edgewatch.contract import ReceiverOut as Receiver
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._client import Client
from edgewatch.dashboard._page import ALERTING_OFF, NO_ALERTING, PageContext, run_page, show_error

# Problems first: the deliveries someone opening this page wants to see.
DELIVERY_ORDER = ("failed", "dead", "pending", "delivered")


def _rules(client: Client) -> None:
    st.subheader("Alert rules")
    rules = client.rules()
    if st.button("Reload rules file", key="reload_rules"):
        try:
            n = client.reload_rules()
        except ApiError as e:
            show_error(e)
        else:
            st.success(f"Reloaded: {n} rules.")
            rules = client.rules()
    if not rules:
        st.caption("No rules loaded: start the server with a rules file (see docs/alerts.md).")
        return
    failing = [r for r in rules if r.last_error]
    if failing:
        st.error(f"{len(failing)} rule(s) failed their last evaluation.")
    st.dataframe(
        pd.DataFrame(
            {
                "rule": [r.name for r in rules],
                "detector": [r.detector for r in rules],
                "severity": [r.severity for r in rules],
                "scope": [r.scope.level for r in rules],
                "every": [fmt.duration(r.interval_s) for r in rules],
                "for": [fmt.duration(r.for_s) if r.for_s else "0 s" for r in rules],
                "last evaluated": [fmt.ago(r.last_evaluated_at) for r in rules],
                "last error": [r.last_error or "" for r in rules],
            }
        ),
        hide_index=True,
        key="rules_table",
    )


def _health(r: Receiver) -> str:
    """One word for a receiver's state: failing (notifications lost or refused), retrying
    (its last attempt failed, deliveries wait), or ok."""
    if r.dead or r.failed:
        return "failing"
    if r.pending and r.last_error:
        return "retrying"
    return "ok"


def _receivers(client: Client) -> None:
    st.subheader("Receivers")
    receivers = client.receivers()
    if not receivers:
        st.caption(
            "No receivers: alerts show here and in the API only. Add a webhook, Slack or "
            "Alertmanager receiver to the rules file to be notified."
        )
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "receiver": [r.name for r in receivers],
                    "type": [r.type for r in receivers],
                    "host": [r.endpoint_host or "—" for r in receivers],
                    "delivered": [r.delivered for r in receivers],
                    "pending": [r.pending for r in receivers],
                    "failed": [r.failed for r in receivers],
                    "dead": [r.dead for r in receivers],
                    "last success": [fmt.ago(r.last_success_at) for r in receivers],
                    "last error": [r.last_error or "" for r in receivers],
                    "health": [_health(r) for r in receivers],
                }
            ),
            hide_index=True,
            key="receivers_table",
        )
    status = st.selectbox("Deliveries", DELIVERY_ORDER, key="delivery_status")
    deliveries = client.deliveries(status=status)
    if not deliveries:
        st.caption(f"No {status} deliveries.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "id": [d.id for d in deliveries],
                "receiver": [d.receiver or "—" for d in deliveries],
                "status": [d.status or status for d in deliveries],
                "created": [fmt.when(d.created_at) for d in deliveries],
                "attempts": [d.attempts for d in deliveries],
                "last error": [d.last_error or "" for d in deliveries],
            }
        ),
        hide_index=True,
        key="deliveries_table",
    )


def _baselines(client: Client) -> None:
    st.subheader("Baselines")
    baselines = client.baselines()
    if not baselines:
        st.caption(
            "No baselines: drift is judged against a reference dataset or a pinned production "
            "window per model version. Upload one through the API (see docs/api.md)."
        )
        return
    st.dataframe(
        pd.DataFrame(
            {
                "id": [b.id for b in baselines],
                "model": [b.model for b in baselines],
                "version": [b.version for b in baselines],
                "source": [b.source for b in baselines],
                "created": [fmt.when(b.created_at) for b in baselines],
                "rows": [b.rows for b in baselines],
                "features": [len(b.features) for b in baselines],
            }
        ),
        hide_index=True,
        key="baselines_table",
    )
    labels = {
        b.id: f"{b.model} {b.version} ({b.source}, {fmt.when(b.created_at)})" for b in baselines
    }
    chosen = st.selectbox("Baseline", list(labels), format_func=labels.__getitem__)
    summary = client.baseline(chosen).summary or []
    st.dataframe(
        pd.DataFrame(
            {
                "feature": [s.feature for s in summary],
                "count": [s.count for s in summary],
                "mean": [fmt.number(s.mean, 4) for s in summary],
                "p50": [fmt.number(s.p50, 4) for s in summary],
                "p95": [fmt.number(s.p95, 4) for s in summary],
                "missing": [s.missing for s in summary],
            }
        ),
        hide_index=True,
        key="baseline_summary",
    )


def _tokens(client: Client) -> None:
    st.subheader("Access tokens")
    tokens = client.tokens()
    st.dataframe(
        pd.DataFrame(
            {
                "id": [t.token_id for t in tokens],
                "role": [t.role for t in tokens],
                "device": [t.device_id or "—" for t in tokens],
                "name": [t.name for t in tokens],
                "created": [fmt.when(t.created_at) for t in tokens],
                "state": ["revoked" if t.revoked_at is not None else "active" for t in tokens],
            }
        ),
        hide_index=True,
        key="tokens_table",
    )
    st.caption("Secrets are shown once, when a token is created, and never stored in clear.")


def render(ctx: PageContext) -> None:
    try:
        _rules(ctx.client)
        _receivers(ctx.client)
        _baselines(ctx.client)
    except NotFoundError as e:
        if not e.endpoint_missing:
            raise
        st.warning(NO_ALERTING.format(what=e.missing_endpoint))
    except AlertingDisabledError:
        st.warning(ALERTING_OFF)
    _tokens(ctx.client)


run_page("Settings", render, alerting=True)
