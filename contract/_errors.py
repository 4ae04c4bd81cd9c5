"""The client's one exception tree and the error bodies the server answers with.

Every exception message is meant to be shown to a person as is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ApiError(Exception):
    """Base of every error the API client raises."""


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
    """The server refused what was asked (400, 409, 413, 415, 422); the message says why."""


class ServerError(ApiError):
    """The server failed (5xx) or answered something the client cannot read."""


class ThrottledError(ServerError):
    """The server cannot answer now and asks to come back later (429, or 503 with
    ``Retry-After``: the store is closed or busy)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AlertingDisabledError(ServerError):
    """The server runs with alerting switched off (``alerting: false``): its alerting
    endpoints answer 503 and have nothing to show."""


class MalformedResponseError(ServerError):
    """The answer was not the JSON shape the API promises."""


class ErrorOut(BaseModel):
    """The body of every error the server answers itself (400, 401, 403, 404, 413, 415,
    422 from a domain check, 429, 503): one readable reason."""

    detail: str = Field(description="what is wrong, meant for a person")


class ValidationIssueOut(BaseModel):
    """One field FastAPI's request validation refused."""

    type: str | None
    loc: list[str | int]
    msg: str | None
    input: Any = None


class ValidationErrorOut(BaseModel):
    """The 422 body of a request whose parameters or body fail validation: either the list
    of refused fields, or one reason when a domain check refused the request."""

    detail: list[ValidationIssueOut] | str


class ProblemOut(BaseModel):
    """One reason an upload was refused, naming the column or row when it can."""

    column: str | None = None
    row: int | None = None
    message: str


class ProblemsOut(BaseModel):
    """The 422 body of a refused upload (problems) or rules reload (reasons as text): every
    problem found."""

    errors: list[ProblemOut | str]
