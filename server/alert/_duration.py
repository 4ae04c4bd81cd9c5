"""Prometheus-style durations (``30s``, ``5m``, ``1h30m``, ``1d``) as float seconds."""

from __future__ import annotations

import re

__all__ = ["DurationError", "format_duration", "parse_duration"]

# Prometheus accepts these units, largest first, each at most once (model.ParseDuration).
_UNITS: dict[str, float] = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_ORDER = list(_UNITS)
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


class DurationError(ValueError):
    """A duration string that is not in Prometheus form."""


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ``0`` is allowed, units must go from largest to smallest."""
    if not isinstance(text, str):
        raise DurationError(f"expected a duration string such as '5m', got {text!r}")
    s = text.strip()
    if s == "0":
        return 0.0
    pos = 0
    total = 0.0
    last_rank = -1
    for match in _PART.finditer(s):
        if match.start() != pos:
            break
        rank = _ORDER.index(match.group(2))
        if rank <= last_rank:
            raise DurationError(
                f"invalid duration {text!r}: units must go from largest to smallest, each once"
            )
        last_rank = rank
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(s):
        raise DurationError(
            f"invalid duration {text!r}: use a number and a unit (ms, s, m, h, d, w, y), "
            "e.g. 30s, 5m, 4h, 1d or 1h30m"
        )
    return total


def format_duration(seconds: float) -> str:
    """The shortest Prometheus form of ``seconds`` (``90`` → ``1m30s``)."""
    if seconds < 0:
        raise DurationError(f"a duration cannot be negative, got {seconds}")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        size = round(_UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
