"""The dashboard's environment variables, declared in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_SERVER = "EDGEWATCH_DASHBOARD_SERVER"
"""Base URL of the edgewatch server, e.g. ``http://127.0.0.1:4318``."""
ENV_TOKEN = "EDGEWATCH_DASHBOARD_TOKEN"
"""An admin token of that server."""


@dataclass(frozen=True, slots=True)
class Config:
    """Which server the dashboard reads, with which token."""

    server_url: str
    token: str


def config_from_env() -> Config | None:
    """The configuration from the environment; ``None`` when the server URL is not set."""
    server = os.environ.get(ENV_SERVER, "").strip()
    if not server:
        return None
    return Config(server, os.environ.get(ENV_TOKEN, "").strip())
