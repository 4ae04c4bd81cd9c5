"""Helpers to run the dashboard app in ``streamlit.testing`` and read what it shows."""

from __future__ import annotations

import pandas as pd
from dashboard_harness import APP
from streamlit.testing.v1 import AppTest

PAGES = {
    "fleet": "_fleet_page.py",
    "device": "_device_page.py",
    "alerts": "_alerts_page.py",
    "drift": "_drift_page.py",
    "versions": "_versions_page.py",
    "settings": "_settings_page.py",
}


def open_page(page: str, **query: str) -> AppTest:
    """The app after opening ``page`` (with URL query parameters), checked for exceptions."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page != "fleet":
        at.query_params.update(query)
        at.switch_page(PAGES[page])
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Every ``st.metric`` as label → shown value."""
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    """Everything shown as text (markdown, captions, alerts), one item per line."""
    parts = [
        *(x.value for x in at.markdown),
        *(x.value for x in at.caption),
        *(x.value for x in at.info),
        *(x.value for x in at.warning),
        *(x.value for x in at.error),
        *(x.value for x in at.success),
        *(x.value for x in at.title),
    ]
    return "\n".join(str(p) for p in parts)


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first ``st.dataframe`` shown with all of ``columns``."""
    for df in at.dataframe:
        frame = df.value
        if all(c in frame.columns for c in columns):
            return frame
    shown = [list(df.value.columns) for df in at.dataframe]
    raise AssertionError(f"no table with columns {columns}; tables: {shown}")
