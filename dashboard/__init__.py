"""The Streamlit dashboard; it reads the server's REST API only, through ``Client``."""

from __future__ import annotations

from edgewatch.contract import (
    AlertingDisabledError,
    ApiError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
    ServerError,
    ServerUnreachableError,
    UnauthorizedError,
)
from edgewatch.dashboard._client import Client, DriftReport

__all__ = [
    "AlertingDisabledError",
    "ApiError",
    "Client",
    "DriftReport",
    "MalformedResponseError",
    "NotFoundError",
    "RequestRejectedError",
    "ServerError",
    "ServerUnreachableError",
    "UnauthorizedError",
]
