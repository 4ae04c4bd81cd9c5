"""The on-device collector SDK: measures every inference and the device, exports OTLP."""

from __future__ import annotations

from edgewatch.collector import semconv

__all__ = ["semconv"]
