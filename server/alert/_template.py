"""A small, safe template language for alert labels and annotations.

``{{ name }}`` or ``{{ name:spec }}`` inserts a variable, with an optional Python format
spec for numbers (``{{ value:.1% }}``). Nothing is evaluated: no attributes, no calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TEMPLATE_VARIABLES", "Template", "TemplateError"]

#: Every variable a rule's label or annotation may use.
TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "device",
        "feature",
        "value",
        "baseline",
        "threshold",
        "model",
        "version",
        "fleet",
        "hardware",
        "explanation",
        "signal",
        "rule",
        "severity",
        "window",
    }
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::([^{}]*?))?\s*\}\}")
_MISSING = "n/a"


class TemplateError(ValueError):
    """A template that uses an unknown variable or an invalid format spec."""


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template; :meth:`render` fills it from a mapping of variables."""

    source: str

    def __post_init__(self) -> None:
        leftover = _PLACEHOLDER.sub("", self.source)
        if "{{" in leftover or "}}" in leftover:
            raise TemplateError(
                f"malformed placeholder in {self.source!r}: write {{{{ name }}}} "
                "or {{ name:.2f }} with a variable name"
            )
        for match in _PLACEHOLDER.finditer(self.source):
            name, spec = match.group(1), match.group(2)
            if name not in TEMPLATE_VARIABLES:
                known = ", ".join(sorted(TEMPLATE_VARIABLES))
                raise TemplateError(f"unknown template variable {name!r} (known: {known})")
            if spec:
                try:
                    format(1.5, spec)
                except ValueError as e:
                    raise TemplateError(f"invalid format spec {spec!r} for {name!r}: {e}") from e

    @property
    def variables(self) -> frozenset[str]:
        """The variable names the template uses."""
        return frozenset(m.group(1) for m in _PLACEHOLDER.finditer(self.source))

    def render(self, values: Mapping[str, object]) -> str:
        """The text with each placeholder replaced; missing or ``None`` values read ``n/a``."""

        def substitute(match: re.Match[str]) -> str:
            value = values.get(match.group(1))
            spec = match.group(2)
            if value is None:
                return _MISSING
            if isinstance(value, float | int) and not isinstance(value, bool):
                return format(value, spec) if spec else format(value, ".4g")
            return str(value)

        return _PLACEHOLDER.sub(substitute, self.source)
