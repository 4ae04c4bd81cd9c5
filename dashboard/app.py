"""The edgewatch dashboard: ``streamlit run`` this file (or ``edgewatch dashboard``)."""

from __future__ import annotations

import streamlit as st

from edgewatch.dashboard._page import sidebar_controls

st.set_page_config(page_title="edgewatch", page_icon="📡", layout="wide")
navigation = st.navigation(
    [
        st.Page("_fleet_page.py", title="Fleet", icon="🛰️", url_path="fleet", default=True),
        st.Page("_device_page.py", title="Device", icon="📟", url_path="device"),
        st.Page("_alerts_page.py", title="Alerts", icon="🚨", url_path="alerts"),
        st.Page("_drift_page.py", title="Drift", icon="📈", url_path="drift"),
        st.Page("_versions_page.py", title="Versions", icon="🔀", url_path="versions"),
        st.Page("_settings_page.py", title="Settings", icon="⚙️", url_path="settings"),
    ]
)
sidebar_controls()
navigation.run()
