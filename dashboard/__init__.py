"""The Streamlit dashboard; it reads the server's REST API only, through ``Client``."""

from __future__ import annotations

from edgewatch.dashboard._client import Client, DriftReport
from edgewatch.dashboard._errors import (
    AlertingDisabledError,
    ApiError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
    ServerError,
    ServerUnreachableError,
    UnauthorizedError,
)

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
