"""The on-device collector SDK: measures every inference and the device, exports OTLP."""

from __future__ import annotations

from edgewatch.collector import semconv
from edgewatch.collector._types import Reading, Sampler, Transport, TransportResponse

__all__ = ["Reading", "Sampler", "Transport", "TransportResponse", "semconv"]
