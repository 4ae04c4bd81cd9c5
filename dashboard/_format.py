"""Numbers with their units, as the dashboard shows them; ``None`` is shown as a dash."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from edgewatch.contract import utc_now

DASH = "—"


def _missing(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def seconds(x: float | None) -> str:
    """A duration: µs, ms or s with three significant digits."""
    if x is None or _missing(x):
        return DASH
    a = abs(x)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{x * 1e6:.3g} µs"
    if a < 1:
        return f"{x * 1e3:.3g} ms"
    return f"{x:.3g} s"


def signed_seconds(x: float | None) -> str:
    """A signed duration such as a clock skew: ``+1.2 s`` or ``-350 ms``."""
    if x is None or _missing(x):
        return DASH
    return ("+" if x >= 0 else "-") + seconds(abs(x))


def size_bytes(x: float | None) -> str:
    """Bytes in binary units (memory)."""
    if x is None or _missing(x):
        return DASH
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(x) >= factor:
            return f"{x / factor:.1f} {unit}"
    return f"{x:.0f} B"


def percent(x: float | None, digits: int = 1) -> str:
    """A ratio 0..1 as a percentage."""
    if x is None or _missing(x):
        return DASH
    return f"{x * 100:.{digits}f} %"


def watts(x: float | None) -> str:
    if x is None or _missing(x):
        return DASH
    return f"{x * 1e3:.3g} mW" if abs(x) < 1 else f"{x:.3g} W"


def joules(x: float | None) -> str:
    if x is None or _missing(x):
        return DASH
    if abs(x) < 1e-3:
        return f"{x * 1e6:.3g} µJ"
    return f"{x * 1e3:.3g} mJ" if abs(x) < 1 else f"{x:.3g} J"


def celsius(x: float | None) -> str:
    return DASH if x is None or _missing(x) else f"{x:.1f} °C"


def rate(x: float | None) -> str:
    """Events per second."""
    return DASH if x is None or _missing(x) else f"{x:.3g} /s"


def number(x: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits."""
    return DASH if x is None or _missing(x) else f"{x:.{digits}g}"


def when(t: datetime | None) -> str:
    """A time in UTC, to the second."""
    return DASH if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(t: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``t`` was: ``42 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    if t is None:
        return DASH
    age = ((now or utc_now()) - t).total_seconds()
    if age < 0:
        return "just now"
    if age < 120:
        return f"{age:.0f} s ago"
    if age < 7200:
        return f"{age / 60:.0f} min ago"
    if age < 172_800:
        return f"{age / 3600:.0f} h ago"
    return f"{age / 86_400:.0f} d ago"


def duration(seconds_: float) -> str:
    """A length of time in words: ``15 min``, ``1 h``, ``7 d``."""
    if seconds_ % 86_400 == 0:
        return f"{seconds_ / 86_400:.0f} d"
    if seconds_ % 3600 == 0:
        return f"{seconds_ / 3600:.0f} h"
    if seconds_ % 60 == 0:
        return f"{seconds_ / 60:.0f} min"
    return f"{seconds_:.0f} s"
