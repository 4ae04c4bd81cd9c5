"""The edgewatch dashboard: ``streamlit run`` this file (or ``edgewatch dashboard``)."""

from __future__ import annotations

import streamlit as st

from edgewatch.dashboard._page import sidebar_controls

st.set_page_config(page_title="edgewatch", page_icon=":material/sensors:", layout="wide")
navigation = st.navigation(
    [
        st.Page(
            "_fleet_page.py", title="Fleet", icon=":material/hub:", url_path="fleet", default=True
        ),
        st.Page(
            "_device_page.py", title="Device", icon=":material/developer_board:", url_path="device"
        ),
        st.Page(
            "_alerts_page.py",
            title="Alerts",
            icon=":material/notifications_active:",
            url_path="alerts",
        ),
        st.Page("_drift_page.py", title="Drift", icon=":material/query_stats:", url_path="drift"),
        st.Page(
            "_versions_page.py",
            title="Versions",
            icon=":material/compare_arrows:",
            url_path="versions",
        ),
        st.Page(
            "_performance_page.py",
            title="Performance",
            icon=":material/verified:",
            url_path="performance",
        ),
        st.Page(
            "_settings_page.py", title="Settings", icon=":material/settings:", url_path="settings"
        ),
    ]
)
if navigation.title == "Fleet" and "alert" in st.query_params:
    # Alert notifications link to <dashboard>/?alert=<fingerprint>: open that alert.
    st.switch_page("_alerts_page.py", query_params={"alert": st.query_params["alert"]})
sidebar_controls()
navigation.run()
