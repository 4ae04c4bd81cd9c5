"""Label matchers with Alertmanager semantics: ``=``, ``!=``, ``=~``, ``!~``.

A missing label matches as the empty string, and regular expressions are anchored at
both ends, as in Alertmanager's ``labels.Matcher``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edgewatch.contract import LABEL_NAME_PATTERN

__all__ = ["MatchOp", "Matcher", "MatcherError", "matches_all", "parse_matcher"]

_LABEL_NAME = re.compile(LABEL_NAME_PATTERN)
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class MatcherError(ValueError):
    """A matcher that cannot be parsed or compiled."""


class MatchOp(StrEnum):
    """How a matcher compares a label's value."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label, e.g. ``device=~"cam-.*"``."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _LABEL_NAME.match(self.name):
            raise MatcherError(f"invalid label name {self.name!r} in matcher")
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                compiled = re.compile(f"(?:{self.value})", re.DOTALL)
            except re.error as e:
                raise MatcherError(f"invalid regular expression {self.value!r}: {e}") from e
            object.__setattr__(self, "_regex", compiled)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label reads as "")."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return actual == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op is MatchOp.REGEX else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op.value}"{escaped}"'

    def to_dict(self) -> dict[str, Any]:
        """JSON form, the same fields as Alertmanager's API matcher plus ``op``."""
        return {"name": self.name, "op": self.op.value, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Matcher:
        """Inverse of :meth:`to_dict`."""
        try:
            op = MatchOp(data["op"])
        except ValueError as e:
            raise MatcherError(f"invalid matcher operator {data['op']!r}") from e
        return cls(str(data["name"]), op, str(data["value"]))


def parse_matcher(text: str) -> Matcher:
    """Parse ``name="value"``, ``name!=value``, ``name=~"re"`` or ``name!~"re"``."""
    match = _MATCHER.match(text)
    if match is None:
        raise MatcherError(
            f"invalid matcher {text!r}: expected name, an operator (=, !=, =~, !~) and a value, "
            'e.g. device="cam-1"'
        )
    name, op, raw = match.groups()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    elif '"' in raw:
        raise MatcherError(f"invalid matcher {text!r}: unbalanced quotes in the value")
    return Matcher(name, MatchOp(op), raw)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches ``labels`` (true for no matchers)."""
    return all(m.matches(labels) for m in matchers)
