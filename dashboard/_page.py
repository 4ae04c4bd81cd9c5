"""What every page shares: the sidebar (time range, auto-refresh), the API client, and
turning API failures into messages instead of stack traces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import streamlit as st

from edgewatch.contract import (
    AlertingDisabledError,
    ApiError,
    NotFoundError,
    ServerUnreachableError,
    UnauthorizedError,
    utc_now,
)
from edgewatch.dashboard._client import Client
from edgewatch.dashboard._config import ENV_SERVER, ENV_TOKEN, config_from_env
from edgewatch.dashboard._format import ago, duration

T = TypeVar("T")

TIME_RANGES_S = (900.0, 3600.0, 6 * 3600.0, 86_400.0, 7 * 86_400.0)
REFRESH_EVERY_S = (10.0, 30.0, 60.0, 300.0)
# Steps a series query may use; the page picks the smallest giving at most 120 buckets. None
# is shorter than a minute, the collector's default export interval: a shorter bucket would
# hold some devices' exports and not others', and a fleet line would zigzag between them.
_STEPS_S = (60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21_600.0)

RANGE_KEY = "ew_range_s"
REFRESH_KEY = "ew_auto_refresh"
REFRESH_CHOSEN_KEY = "ew_auto_refresh_chosen"
# Auto-refresh is on by itself while some device reported this recently (the server's
# default for "stale" is 180 s; a demo or a fleet exporting every minute stays within it).
LIVE_WITHIN_S = 300.0
REFRESH_EVERY_KEY = "ew_refresh_every_s"
NO_ALERTING = (
    "This server has no alerting API yet (it answered 404 for {what}). "
    "Alerts, drift results, rules and version comparisons appear here once the server "
    "runs an edgewatch version with alerting."
)


ALERTING_OFF = (
    "This server runs with alerting switched off (`alerting: false` in its settings): there "
    "are no alerts, rules or receivers to show. Device and fleet data are unaffected."
)


@dataclass(frozen=True, slots=True)
class PageContext:
    """What a page renders with: the client and the chosen time window."""

    client: Client
    start: datetime
    end: datetime
    step_s: float

    @property
    def range_s(self) -> float:
        return (self.end - self.start).total_seconds()


def step_for(range_s: float) -> float:
    """A series step giving at most 120 buckets over ``range_s``."""
    return next((s for s in _STEPS_S if range_s / s <= 120), _STEPS_S[-1])


@st.cache_resource(show_spinner=False)
def _client(server_url: str, token: str) -> Client:
    return Client(server_url, token)


@st.cache_data(ttl=20, show_spinner=False)
def _newest_report(server_url: str, _token: str) -> datetime | None:
    """When any device last reported; ``None`` without devices or a reachable server (the
    page itself then says what is wrong)."""
    try:
        devices = _client(server_url, _token).devices()
    except (ApiError, ValueError):
        return None
    return max((d.last_seen for d in devices), default=None)


@st.cache_data(ttl=60, show_spinner=False)
def _rule_time_scale(server_url: str, _token: str) -> float:
    """The server's rule time scale (1 when it cannot be read: the page says why itself)."""
    try:
        return _client(server_url, _token).rule_time_scale()
    except (ApiError, ValueError):
        return 1.0


def scale_banner(factor: float) -> str | None:
    """The line every page shows when the server's rules run scaled (the demo), so nobody
    reads a 15-second window as the built-in rules' 15 minutes; ``None`` at real time."""
    if factor == 1:
        return None
    return (
        f"demo: rule windows scaled to {factor:g}x — every rule's window, interval and `for` "
        f"is divided by {factor:g} to follow the time-compressed demo fleet."
    )


def _refresh_chosen() -> None:
    st.session_state[REFRESH_CHOSEN_KEY] = True


def _auto_refresh() -> None:
    """The auto-refresh toggle: it follows the data (on while devices report, so a live
    fleet never looks frozen) until the user flips it, then it keeps the user's choice."""
    config = config_from_env()
    newest = _newest_report(config.server_url, config.token) if config and config.token else None
    age_s = (utc_now() - newest).total_seconds() if newest is not None else None
    live = age_s is not None and age_s <= LIVE_WITHIN_S
    if not st.session_state.get(REFRESH_CHOSEN_KEY, False):
        st.session_state[REFRESH_KEY] = live
    st.toggle(
        "Auto-refresh",
        key=REFRESH_KEY,
        on_change=_refresh_chosen,
        help=f"on by itself while a device reported in the last {duration(LIVE_WITHIN_S)}",
    )
    st.selectbox(
        "Refresh every",
        REFRESH_EVERY_S,
        index=1,
        format_func=duration,
        key=REFRESH_EVERY_KEY,
        disabled=not st.session_state.get(REFRESH_KEY, False),
    )
    if newest is None:
        st.caption("No device data yet.")
    else:
        st.caption(f"Newest data: {ago(newest)}" + (" (live)." if live else "."))


def sidebar_controls() -> None:
    """The controls every page shares; rendered by the app before the page so their values
    survive switching pages."""
    with st.sidebar:
        st.selectbox(
            "Time range",
            TIME_RANGES_S,
            index=1,
            format_func=lambda s: f"Last {duration(s)}",
            key=RANGE_KEY,
        )
        _auto_refresh()
        config = config_from_env()
        if config is not None:
            st.caption(f"Server: {config.server_url}")


def run_page(title: str, render: Callable[[PageContext], None], *, alerting: bool = False) -> None:
    """Render a page: a title, then ``render`` with the current window, rerun on a timer when
    auto-refresh is on; API failures become one clear message."""
    st.title(title)
    config = config_from_env()
    if config is None:
        st.error(
            f"The dashboard does not know which server to read: {ENV_SERVER} is not set. "
            "Start it with `edgewatch dashboard --server URL --token ADMIN_TOKEN`."
        )
        return
    if not config.token:
        st.error(
            f"No admin token: {ENV_TOKEN} is empty. Start the dashboard with "
            "`edgewatch dashboard --server URL --token ADMIN_TOKEN`; create a token with "
            "`edgewatch token create --admin`."
        )
        return
    try:
        client = _client(config.server_url, config.token)
    except ValueError as e:
        st.error(f"{ENV_SERVER}: {e}")
        return
    banner = scale_banner(_rule_time_scale(config.server_url, config.token))
    if banner is not None:
        st.info(banner)
    range_s = float(st.session_state.get(RANGE_KEY, 3600.0))
    every = (
        float(st.session_state.get(REFRESH_EVERY_KEY, 30.0))
        if st.session_state.get(REFRESH_KEY, False)
        else None
    )

    def body() -> None:
        end = utc_now()
        ctx = PageContext(client, end - timedelta(seconds=range_s), end, step_for(range_s))
        try:
            render(ctx)
        except ApiError as e:
            show_error(e, alerting=alerting)

    st.fragment(body, run_every=every)()


def show_error(e: ApiError, *, alerting: bool = False) -> None:
    """One message for an API failure, worded by its kind."""
    if isinstance(e, ServerUnreachableError):
        st.error(f"Server unreachable: {e}")
    elif isinstance(e, UnauthorizedError):
        st.error(f"Access denied: {e}")
    elif isinstance(e, NotFoundError) and e.endpoint_missing and alerting:
        st.warning(NO_ALERTING.format(what=e.missing_endpoint))
    elif isinstance(e, AlertingDisabledError):
        st.warning(ALERTING_OFF)
    else:
        st.error(str(e))


def optional(fetch: Callable[[], T]) -> T | None:
    """``fetch()``, or ``None`` when the server has no alerting to ask: an older server without
    the endpoint (404), or one running with alerting off (503). Pages show what they can and
    say what is missing."""
    try:
        return fetch()
    except AlertingDisabledError:
        return None
    except NotFoundError as e:
        if e.endpoint_missing:
            return None
        raise
