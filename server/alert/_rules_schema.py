"""The rules file's schema: pydantic models and validators that turn YAML into checked values.

Every validator raises ``ValueError`` with a message that names what is wrong; the loader
adds the file, the rule and the field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
)
from pydantic import ValidationError as PydanticValidationError

from edgewatch.contract import LABEL_NAME_PATTERN

from ._config import ScopeLevel, Severity, Threshold
from ._duration import parse_duration
from ._matchers import Matcher, parse_matcher
from ._template import Template

__all__ = [
    "NAME",
    "FileModel",
    "InhibitModel",
    "ReceiverModel",
    "RouteModel",
    "RuleModel",
    "validate_section",
]

NAME = re.compile(LABEL_NAME_PATTERN)
_RECEIVER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_RESERVED_LABELS = frozenset({"alertname", "severity"})
_VOLATILE = frozenset({"value", "baseline", "explanation"})


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration string such as '5m' or '30s', got {value!r}")
    return parse_duration(value)


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _threshold(value: Any) -> Threshold | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a comparison such as '> 0.2', got {value!r}")
    return Threshold.parse(value)


def _label_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"invalid label name {name!r}: use letters, digits and _, not first a digit"
        )
    return name


def _template(text: str) -> Template:
    return Template(text)


def _rule_label_name(name: str) -> str:
    if name in _RESERVED_LABELS:
        raise ValueError(f"{name!r} is set from the rule itself; remove it")
    return _label_name(name)


def _label_template(text: str) -> Template:
    template = Template(text)
    volatile = template.variables & _VOLATILE
    if volatile:
        raise ValueError(
            f"uses {{{{ {sorted(volatile)[0]} }}}}, which changes on every evaluation and would "
            "split the alert into many; put it in annotations"
        )
    return template


def _known_receiver(name: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("receivers", set())
    if name not in known:
        raise ValueError(f"no receiver named {name!r} is configured")
    return name


def _matcher(text: str) -> Matcher:
    return parse_matcher(text)


def _receiver_name(name: str) -> str:
    if not _RECEIVER_NAME.match(name):
        raise ValueError("must be letters, digits, '_', '-' or '.', not starting with '-' or '.'")
    return name


def _url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValueError("must be an http:// or https:// URL with a host")
    return text


Duration = Annotated[float, BeforeValidator(_duration)]
PositiveDuration = Annotated[float, BeforeValidator(_duration), AfterValidator(_positive)]
LabelName = Annotated[str, AfterValidator(_label_name)]
MatcherText = Annotated[Matcher, BeforeValidator(_matcher)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ReceiverName = Annotated[str, AfterValidator(_known_receiver)]


class _Model(BaseModel):
    """Strict: unknown fields are errors (a misspelt key must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)


class ScopeModel(_Model):
    """Which members a rule evaluates."""

    level: ScopeLevel = ScopeLevel.DEVICE
    match: list[MatcherText] = []


class RuleModel(_Model):
    """One entry of ``rules:``."""

    name: Name
    description: str = ""
    detector: Annotated[str, Field(min_length=1)]
    params: dict[str, Any] = {}
    scope: ScopeModel = ScopeModel()
    signal: Annotated[str, Field(min_length=1)]
    window: PositiveDuration = 900.0
    interval: PositiveDuration = 60.0
    threshold: Annotated[Threshold | None, BeforeValidator(_threshold)] = None
    for_: Annotated[Duration, Field(alias="for")] = 0.0
    keep_firing_for: Duration = 0.0
    severity: Severity = Severity.WARNING
    labels: dict[
        Annotated[str, AfterValidator(_rule_label_name)],
        Annotated[Template, BeforeValidator(_label_template)],
    ] = {}
    annotations: dict[LabelName, Annotated[Template, BeforeValidator(_template)]] = {}
    receivers: list[ReceiverName] = []


class RouteModel(_Model):
    """``route:``: default receivers and grouping for every receiver."""

    receivers: list[ReceiverName] = []
    group_by: list[str] = ["alertname"]
    group_wait: Duration = 30.0
    group_interval: PositiveDuration = 300.0
    repeat_interval: PositiveDuration = 4 * 3600.0


class ReceiverModel(_Model):
    """One entry of ``receivers:``; grouping fields override the route's."""

    name: Annotated[str, AfterValidator(_receiver_name)]
    type: Literal["webhook", "slack", "alertmanager"]
    url: Annotated[str, AfterValidator(_url)]
    secret: SecretStr | None = None
    secret_env: str | None = None
    send_resolved: bool = True
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: PositiveDuration | None = None
    repeat_interval: PositiveDuration | None = None
    timeout: PositiveDuration = 10.0
    max_alerts: Annotated[int, Field(ge=0)] = 0
    resend_interval: PositiveDuration = 60.0


class InhibitModel(_Model):
    """One entry of ``inhibit_rules:`` (Alertmanager's fields)."""

    source_matchers: Annotated[list[MatcherText], Field(min_length=1)]
    target_matchers: Annotated[list[MatcherText], Field(min_length=1)]
    equal: list[LabelName] = []


class FileModel(_Model):
    """The top level; each section is then validated on its own to collect every problem."""

    external_url: Annotated[str, AfterValidator(_url)] | None = None
    route: Any = None
    receivers: list[Any] = []
    inhibit_rules: list[Any] | None = None
    rules: list[Any] = []


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(top level)"


def _describe(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error as ``field: message``, with a hint for misspelt field names."""
    loc = list(err["loc"])
    where = _path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = [f.alias or n for n, f in model.model_fields.items()]
        close = difflib.get_close_matches(str(loc[-1]), known, n=1) if len(loc) == 1 else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where}: unknown field{hint}"
    if kind == "missing":
        return f"{where}: required field is missing"
    if kind == "string_too_short":
        return f"{where}: must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{where}: must be letters, digits and _, not starting with a digit"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def validate_section(
    model: type[_Model],
    data: Any,
    prefix: str,
    problems: list[str],
    receivers: set[str] | None = None,
) -> Any:
    try:
        return model.model_validate(data, context={"receivers": receivers or set()})
    except PydanticValidationError as e:
        problems.extend(f"{prefix}{_describe(err, model)}" for err in e.errors())
        return None
