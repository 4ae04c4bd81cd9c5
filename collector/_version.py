"""The installed distribution's version, sent in ``User-Agent`` and the OTLP scope."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("edgewatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0"
