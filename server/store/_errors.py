"""The store's exception tree: every DuckDB error is translated into one of these."""

from __future__ import annotations


class StoreError(Exception):
    """A storage operation failed; the request should be retried later (HTTP 503)."""


class StoreBusyError(StoreError):
    """The writer queue is full: back off for ``retry_after_s`` and resend."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreClosedError(StoreError):
    """The store is closed or its writer thread has stopped."""


class NotFoundError(StoreError):
    """The named device, token or metric does not exist."""


class InvalidQueryError(StoreError):
    """A query asked for something the data cannot answer (e.g. a gauge as a distribution)."""
