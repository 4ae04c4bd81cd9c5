"""Alert fingerprints: Alertmanager's FNV-1a 64 hash over the sorted label set.

The same algorithm as Prometheus' ``model.LabelSet.Fingerprint``, so the fingerprint we
show equals the one a real Alertmanager shows for the same alert.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["fingerprint"]

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits identifying ``labels``, independent of their order."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), labels[name].encode()):
            for byte in chunk:
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"
