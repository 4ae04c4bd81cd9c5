"""The client's one exception tree; every message is meant to be shown to a person as is."""

from __future__ import annotations


class ApiError(Exception):
    """Base of every error the dashboard's API client raises."""


class ServerUnreachableError(ApiError):
    """No answer: the server is down, the address is wrong, or the request timed out."""


class UnauthorizedError(ApiError):
    """The server refused the token (401) or the token may not use the admin API (403)."""


class NotFoundError(ApiError):
    """The server has no such thing (404): an unknown device or alert, or an endpoint this
    server version does not have."""

    def __init__(self, message: str, *, missing_endpoint: str | None = None) -> None:
        super().__init__(message)
        self.missing_endpoint = missing_endpoint
        """The path the server does not serve at all, when that is why it answered 404."""

    @property
    def endpoint_missing(self) -> bool:
        """Whether the server lacks the endpoint itself (rather than the thing asked for)."""
        return self.missing_endpoint is not None


class RequestRejectedError(ApiError):
    """The server refused what was asked (400, 409, 422); the message carries its reason."""


class ServerError(ApiError):
    """The server failed (5xx) or answered something the client cannot read."""


class AlertingDisabledError(ServerError):
    """The server runs with alerting switched off (``alerting: false``): its alerting
    endpoints answer 503 and have nothing to show."""


class MalformedResponseError(ServerError):
    """The answer was not the JSON shape the API promises."""
