"""Ingest errors: each maps to one OTLP/HTTP answer in ``edgewatch.server.api.errors``."""

from __future__ import annotations


class IngestError(Exception):
    """Base of the ingest errors."""


class DecodeError(IngestError):
    """The body is not a valid ExportMetricsServiceRequest (HTTP 400, final)."""


class PayloadTooLargeError(IngestError):
    """The body exceeds the cap, before or after decompression (HTTP 413, final)."""


class UnsupportedMediaTypeError(IngestError):
    """Content-Type or Content-Encoding the server does not speak (HTTP 415)."""
