"""Reading JSON answers field by field, naming the exact field when one is missing or wrong."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from edgewatch.contract import MalformedResponseError


class Obj:
    """A JSON object from an API answer; accessors check types and name the path on error."""

    __slots__ = ("_data", "_where")

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise MalformedResponseError(f"{where}: expected an object, got {_kind(data)}")
        self._data: dict[str, Any] = data
        self._where = where

    def _get(self, key: str, *, required: bool = True) -> Any:
        if key not in self._data:
            if required:
                raise MalformedResponseError(f"{self._where}.{key}: missing")
            return None
        return self._data[key]

    def _fail(self, key: str, expected: str, value: object) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self._where}.{key}: expected {expected}, got {_kind(value)}"
        )

    def has(self, key: str) -> bool:
        """Whether the object carries ``key`` at all."""
        return key in self._data

    def get(self, key: str) -> Any:
        """The raw value of ``key`` (``None`` when absent), for fields of several shapes."""
        return self._data.get(key)

    def ident(self, key: str) -> str:
        """An identifier sent as a string or an integer, as a string."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._fail(key, "an identifier", value)
        return str(value)

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string or null", value)
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number", value)
        return float(value)

    def opt_number(self, key: str) -> float | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number or null", value)
        return float(value) if math.isfinite(value) else None

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer", value)
        return value

    def opt_integer(self, key: str, default: int = 0) -> int:
        value = self._get(key, required=False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer", value)
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def items(self, key: str) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return value

    def opt_items(self, key: str) -> list[Any]:
        value = self._get(key, required=False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return value

    def objs(self, key: str) -> list[Obj]:
        """A list of objects, each checked."""
        return [Obj(item, f"{self._where}.{key}[{i}]") for i, item in enumerate(self.items(key))]

    def texts(self, key: str) -> tuple[str, ...]:
        items = self.opt_items(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise MalformedResponseError(
                    f"{self._where}.{key}[{i}]: expected a string, got {_kind(item)}"
                )
        return tuple(items)

    def opt_texts(self, key: str) -> tuple[str, ...] | None:
        """A list of strings, or ``None`` when the field is absent or null."""
        return None if self._get(key, required=False) is None else self.texts(key)

    def obj(self, key: str) -> Obj:
        return Obj(self._get(key), f"{self._where}.{key}")

    def opt_obj(self, key: str) -> Obj | None:
        value = self._get(key, required=False)
        return None if value is None else Obj(value, f"{self._where}.{key}")

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._get(key, required=False)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._fail(key, "an object", value)
        return dict(value)

    def unix_time(self, key: str) -> datetime:
        """Unix seconds (the query API's time format) as an aware UTC datetime."""
        return datetime.fromtimestamp(self.number(key), UTC)

    def time(self, key: str) -> datetime:
        """An RFC 3339 string (the alerting API's time format) as an aware UTC datetime."""
        parsed = self.opt_time(key)
        if parsed is None:
            raise self._fail(key, "an RFC 3339 time", None)
        return parsed

    def opt_time(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._fail(key, "an RFC 3339 time", value) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise MalformedResponseError(
                f"{self._where}.{key}: expected one of {', '.join(allowed)}, got {value!r}"
            )
        return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return type(value).__name__
