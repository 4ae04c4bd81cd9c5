"""Opt-in sampled rows: the user's ``SamplingConfig`` and the budget in force at a moment.

Sampling is off unless a ``SamplingConfig`` is given to the Monitor. The server may then
change the budget (``GET /api/v1/devices/{id}/config``), but never beyond the device's own
ceilings, and never the allow/deny lists: what may leave the device is decided on the device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_ROUND_DIGITS = 12


def _count(field: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"sampling.{field} must be an int >= {minimum}, got {value!r}")
    return value


def _names(field: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(f"sampling.{field} must be a sequence of feature names, got {value!r}")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"sampling.{field} must hold non-empty strings, got {name!r}")
    return names


def _digits(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -6 <= value <= MAX_ROUND_DIGITS:
        raise ValueError(
            f"sampling.{field} must be an int from -6 to {MAX_ROUND_DIGITS}, got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    """Send a reservoir sample of observed rows as OTLP log records, within a budget.

    ``allow`` (``None`` = every feature) and ``deny`` pick the features a sampled row
    carries; denied values are never copied out of the inference call. ``round_digits``
    rounds numeric values (one int for all, or per feature name). The server may raise or
    lower ``rows_per_hour``/``bytes_per_day`` up to ``max_rows_per_hour``/``max_bytes_per_day``.
    """

    rows_per_hour: int = 60
    bytes_per_day: int = 2 * 2**20
    allow: Sequence[str] | None = None
    deny: Sequence[str] = ()
    round_digits: int | Mapping[str, int] | None = None
    include_prediction: bool = True
    remote: bool = True
    """Poll the server for this device's budget (``GET /api/v1/devices/{id}/config``)."""
    poll_interval_s: float = 300.0
    max_rows_per_hour: int = 3600
    max_bytes_per_day: int = 64 * 2**20

    def __post_init__(self) -> None:
        _count("rows_per_hour", self.rows_per_hour)
        _count("bytes_per_day", self.bytes_per_day)
        _count("max_rows_per_hour", self.max_rows_per_hour)
        _count("max_bytes_per_day", self.max_bytes_per_day)
        if self.rows_per_hour > self.max_rows_per_hour:
            raise ValueError(
                f"sampling.rows_per_hour ({self.rows_per_hour}) must not exceed "
                f"sampling.max_rows_per_hour ({self.max_rows_per_hour})"
            )
        if self.bytes_per_day > self.max_bytes_per_day:
            raise ValueError(
                f"sampling.bytes_per_day ({self.bytes_per_day}) must not exceed "
                f"sampling.max_bytes_per_day ({self.max_bytes_per_day})"
            )
        if self.allow is not None:
            object.__setattr__(self, "allow", _names("allow", self.allow))
        object.__setattr__(self, "deny", _names("deny", self.deny))
        rounding = self.round_digits
        if isinstance(rounding, Mapping):
            for name, digits in rounding.items():
                if not isinstance(name, str) or not name:
                    raise ValueError(f"sampling.round_digits keys must be feature names: {name!r}")
                _digits(f"round_digits[{name!r}]", digits)
            object.__setattr__(self, "round_digits", dict(rounding))
        elif rounding is not None:
            _digits("round_digits", rounding)
        for flag in ("include_prediction", "remote"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"sampling.{flag} must be True or False")
        p = self.poll_interval_s
        if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p) or p < 1:
            raise ValueError(f"sampling.poll_interval_s must be a number >= 1, got {p!r}")

    def selected(
        self, features: Sequence[str], categorical: Sequence[str]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The numeric and categorical features a sampled row carries, checked against the Monitor's.

        Every name in ``allow``, ``deny`` and ``round_digits`` must be a feature: a misspelt
        deny entry would otherwise let the field it meant to keep on the device leave it.
        """
        known = set(features) | set(categorical)
        lists: dict[str, Sequence[str]] = {"allow": self.allow or (), "deny": self.deny}
        if isinstance(self.round_digits, Mapping):
            lists["round_digits"] = list(self.round_digits)
        for field, names in lists.items():
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"sampling.{field} names unknown features: {unknown}")
        allowed = known if self.allow is None else set(self.allow)
        allowed -= set(self.deny)
        return (
            tuple(f for f in features if f in allowed),
            tuple(f for f in categorical if f in allowed),
        )

    def digits_for(self, name: str) -> int | None:
        """Decimal digits ``name``'s values are rounded to, or ``None`` to send them as they are."""
        if isinstance(self.round_digits, Mapping):
            return self.round_digits.get(name)
        return self.round_digits


@dataclass(frozen=True, slots=True)
class Budget:
    """The budget in force: whether to sample, and how much."""

    enabled: bool
    rows_per_hour: int
    bytes_per_day: int


@dataclass(frozen=True, slots=True)
class RemoteSampling:
    """What the server said about this device's sampling (``None`` = keep the device's value)."""

    enabled: bool
    rows_per_hour: int | None
    bytes_per_day: int | None
    expires_at_unix: float | None
    """After this wall-clock time the device returns to its own budget (a temporary raise)."""

    @classmethod
    def parse(cls, document: Any) -> RemoteSampling:
        """From the config endpoint's JSON; ``ValueError`` names the bad field."""
        if not isinstance(document, Mapping) or not isinstance(document.get("sampling"), Mapping):
            raise ValueError("config must be an object with a 'sampling' object")
        s = document["sampling"]
        enabled = s.get("enabled")
        if not isinstance(enabled, bool):
            raise ValueError(f"sampling.enabled must be a boolean, got {enabled!r}")
        rows = s.get("rows_per_hour")
        per_day = s.get("bytes_per_day")
        if rows is not None:
            _count("rows_per_hour", rows)
        if per_day is not None:
            _count("bytes_per_day", per_day)
        expires = _expires_at(s)
        return cls(enabled, rows, per_day, expires)


def _expires_at(s: Mapping[str, Any]) -> float | None:
    """``expires_at`` (RFC 3339) as unix seconds, else the deprecated ``expires_at_unix`` that
    servers of the previous release send; ``ValueError`` names the bad field."""
    text = s.get("expires_at")
    if text is not None:
        if not isinstance(text, str):
            raise ValueError(f"sampling.expires_at must be an RFC 3339 time, got {text!r}")
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"sampling.expires_at must be an RFC 3339 time, got {text!r}"
            ) from None
        if at.tzinfo is None:
            raise ValueError(f"sampling.expires_at must carry a time zone, got {text!r}")
        return at.timestamp()
    expires = s.get("expires_at_unix")
    if expires is None:
        return None
    if (
        isinstance(expires, bool)
        or not isinstance(expires, int | float)
        or not math.isfinite(expires)
    ):
        raise ValueError(f"sampling.expires_at_unix must be a number, got {expires!r}")
    return float(expires)


def effective_budget(
    local: SamplingConfig, remote: RemoteSampling | None, now_unix: float
) -> Budget:
    """The device's own budget, overridden by the server's until it expires, within the ceilings."""
    if remote is None or (
        remote.expires_at_unix is not None and now_unix >= remote.expires_at_unix
    ):
        return Budget(True, local.rows_per_hour, local.bytes_per_day)
    rows = local.rows_per_hour if remote.rows_per_hour is None else remote.rows_per_hour
    per_day = local.bytes_per_day if remote.bytes_per_day is None else remote.bytes_per_day
    return Budget(
        remote.enabled,
        min(rows, local.max_rows_per_hour),
        min(per_day, local.max_bytes_per_day),
    )
