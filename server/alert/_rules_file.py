"""Loading a rules YAML file: pydantic at the edge, then frozen values (:class:`RuleSet`).

Every problem is collected and reported together, each naming the file, the rule (or
receiver) and the field, so one run of the server shows everything to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from ._config import GroupTiming, InhibitRule, ReceiverConfig, ReceiverKind, Rule, RuleSet, Scope
from ._inhibit import DEFAULT_INHIBIT_RULES
from ._rules_schema import (
    NAME,
    FileModel,
    InhibitModel,
    ReceiverModel,
    RouteModel,
    RuleModel,
    validate_section,
)
from ._signing import secret_key

__all__ = [
    "ReloadResult",
    "RulesError",
    "default_rules_path",
    "load_default_rules",
    "load_rules",
    "load_rules_text",
    "reload_rules",
]


class RulesError(ValueError):
    """A rules file with problems; ``problems`` lists each one, ``str()`` shows them all."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the rules file:\n{lines}")


def _group_by(values: list[str], where: str, problems: list[str]) -> tuple[str, ...] | None:
    if values == ["..."]:
        return None
    for name in values:
        if not NAME.match(name):
            problems.append(f"{where}: invalid label name {name!r} (or use ['...'] for all labels)")
    return tuple(values)


def _receiver(
    raw: ReceiverModel,
    route: RouteModel,
    prefix: str,
    env: Mapping[str, str],
    problems: list[str],
) -> ReceiverConfig:
    kind = ReceiverKind(raw.type)
    secret = raw.secret.get_secret_value() if raw.secret is not None else None
    if raw.secret_env is not None:
        if secret is not None:
            problems.append(f"{prefix}secret_env: give either secret or secret_env, not both")
        secret = env.get(raw.secret_env)
        if secret is None:
            problems.append(f"{prefix}secret_env: environment variable {raw.secret_env} is not set")
    if kind is ReceiverKind.WEBHOOK:
        if secret is None and raw.secret_env is None:
            problems.append(
                f"{prefix}secret: a webhook receiver needs a signing secret "
                "(whsec_ followed by base64 key bytes; see docs/alerts.md)"
            )
        elif secret is not None:
            try:
                secret_key(secret)
            except ValueError as e:
                field = "secret_env" if raw.secret_env else "secret"
                problems.append(f"{prefix}{field}: {e}")
    elif secret is not None:
        problems.append(f"{prefix}secret: only webhook receivers are signed; remove it")
        secret = None
    group_by = _group_by(
        raw.group_by if raw.group_by is not None else route.group_by, f"{prefix}group_by", problems
    )
    timing = GroupTiming(
        group_by=group_by,
        group_wait_s=raw.group_wait if raw.group_wait is not None else route.group_wait,
        group_interval_s=raw.group_interval
        if raw.group_interval is not None
        else route.group_interval,
        repeat_interval_s=raw.repeat_interval
        if raw.repeat_interval is not None
        else route.repeat_interval,
    )
    return ReceiverConfig(
        name=raw.name,
        kind=kind,
        url=raw.url,
        secret=secret,
        send_resolved=raw.send_resolved,
        timing=timing,
        timeout_s=raw.timeout,
        max_alerts=raw.max_alerts,
        resend_interval_s=raw.resend_interval,
    )


def _rule(raw: RuleModel, prefix: str, problems: list[str]) -> Rule:
    if raw.interval > raw.window:
        problems.append(f"{prefix}interval: longer than window; evaluations would skip data")
    return Rule(
        name=raw.name,
        detector=raw.detector,
        signal=raw.signal,
        threshold=raw.threshold,
        scope=Scope(raw.scope.level, tuple(raw.scope.match)),
        params=dict(raw.params),
        window_s=raw.window,
        interval_s=raw.interval,
        for_s=raw.for_,
        keep_firing_for_s=raw.keep_firing_for,
        severity=raw.severity,
        labels=dict(raw.labels),
        annotations=dict(raw.annotations),
        receivers=tuple(raw.receivers),
        description=raw.description,
    )


def load_rules_text(
    text: str, source: str = "<rules>", *, environ: Mapping[str, str] | None = None
) -> RuleSet:
    """Parse and validate rules YAML; raises :class:`RulesError` listing every problem."""
    env = os.environ if environ is None else environ
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise RulesError(source, [f"YAML syntax error{where}: {problem}"]) from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(source, ["the file must be a mapping with 'rules', 'receivers', ..."])
    problems: list[str] = []
    raw_receivers = data.get("receivers")
    declared = {
        str(item["name"])
        for item in (raw_receivers if isinstance(raw_receivers, list) else [])
        if isinstance(item, dict) and "name" in item
    }
    top = validate_section(FileModel, data, "", problems, declared)
    if top is None:
        # Unknown or mistyped top-level keys: still check the sections that are lists.
        top = FileModel.model_construct(
            **{
                k: data[k]
                for k in ("receivers", "rules", "inhibit_rules")
                if isinstance(data.get(k), list)
            }
        )
    raw_route = data.get("route") or {}
    route = validate_section(RouteModel, raw_route, "route.", problems, declared) or RouteModel()

    receivers: list[ReceiverConfig] = []
    for i, item in enumerate(top.receivers):
        label = item.get("name") if isinstance(item, dict) else None
        prefix = f"receiver {label!r} (receivers[{i}]): " if label else f"receivers[{i}]: "
        raw = validate_section(ReceiverModel, item, prefix, problems)
        if raw is not None:
            receivers.append(_receiver(raw, route, prefix, env, problems))
    names = [str(r["name"]) for r in top.receivers if isinstance(r, dict) and "name" in r]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"receiver {dup!r}: the name is used by more than one receiver")
    _group_by(route.group_by, "route.group_by", problems)

    rules: list[Rule] = []
    for i, item in enumerate(top.rules):
        label = item.get("name") if isinstance(item, dict) else None
        prefix = f"rule {label!r} (rules[{i}]): " if label else f"rules[{i}]: "
        raw = validate_section(RuleModel, item, prefix, problems, declared)
        if raw is not None:
            rules.append(_rule(raw, prefix, problems))
    rule_names = [str(r["name"]) for r in top.rules if isinstance(r, dict) and "name" in r]
    for dup in sorted({n for n in rule_names if rule_names.count(n) > 1}):
        problems.append(f"rule {dup!r}: the name is used by more than one rule")

    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT_RULES
    if top.inhibit_rules is not None:
        parsed = []
        for i, item in enumerate(top.inhibit_rules):
            raw_inhibit = validate_section(InhibitModel, item, f"inhibit_rules[{i}]: ", problems)
            if raw_inhibit is not None:
                parsed.append(
                    InhibitRule(
                        tuple(raw_inhibit.source_matchers),
                        tuple(raw_inhibit.target_matchers),
                        tuple(raw_inhibit.equal),
                    )
                )
        inhibit = tuple(parsed)
    if problems:
        raise RulesError(source, problems)
    return RuleSet(
        rules=tuple(rules),
        receivers=tuple(receivers),
        default_receivers=tuple(route.receivers),
        inhibit_rules=inhibit,
        external_url=(top.external_url or "").rstrip("/"),
        source=source,
    )


def load_rules(path: str | Path, *, environ: Mapping[str, str] | None = None) -> RuleSet:
    """Load a rules file; raises :class:`RulesError` naming the file and every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise RulesError(source, [f"cannot read the file: {e.strerror or e}"]) from e
    except UnicodeDecodeError as e:
        raise RulesError(source, [f"the file is not UTF-8 text: {e.reason}"]) from e
    return load_rules_text(text, source, environ=environ)


def default_rules_path() -> Path:
    """The built-in rules shipped with edgewatch."""
    return Path(str(resources.files("edgewatch.server.alert").joinpath("default_rules.yaml")))


def load_default_rules() -> RuleSet:
    """The built-in rule set (no receivers: alerts show in the API and dashboard)."""
    return load_rules(default_rules_path())


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The rule set to use after a reload: the new one, or the old one with the errors."""

    ruleset: RuleSet
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the new file was taken."""
        return not self.errors


def reload_rules(
    path: str | Path, current: RuleSet, *, environ: Mapping[str, str] | None = None
) -> ReloadResult:
    """Load ``path`` again; on problems keep ``current`` and return the errors (SIGHUP, API)."""
    try:
        return ReloadResult(load_rules(path, environ=environ))
    except RulesError as e:
        return ReloadResult(current, tuple(f"{e.source}: {p}" for p in e.problems))
