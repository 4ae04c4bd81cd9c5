"""The ranges REST inputs are checked against at the edge.

Values outside them would overflow ``datetime`` or DuckDB's integers deeper in (a 500, or a
503 carrying the storage error's text); checked here they are a 400/422 naming the parameter.
Instants are bounded by the contract (``MIN_UNIX_S``..``MAX_UNIX_S``).
"""

from __future__ import annotations

from edgewatch.contract import MAX_SPAN_S

MAX_DEVICES = 1_000_000_000
"""Largest device count a parameter may ask for (a gate's ``min_devices``)."""
MAX_OFFSET = 1_000_000_000
"""Largest ``offset`` a list accepts (DuckDB's OFFSET is a 64-bit integer)."""

__all__ = ["MAX_DEVICES", "MAX_OFFSET", "MAX_SPAN_S"]
