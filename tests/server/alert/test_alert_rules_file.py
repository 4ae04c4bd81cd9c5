"""Rules files: every invalid field gets its own message naming file, rule and field;
a broken reload keeps the old rules; the built-in defaults load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edgewatch.server.alert import (
    ReceiverKind,
    RulesError,
    ScopeLevel,
    Severity,
    generate_secret,
    load_default_rules,
    load_rules,
    load_rules_text,
    reload_rules,
)

SECRET = generate_secret()
GOOD_RULE: dict[str, Any] = {
    "name": "LatencyP95Regression",
    "detector": "quantile_regression",
    "params": {"q": 0.95},
    "scope": {"level": "device", "match": ['model="det"']},
    "signal": "ml.inference.duration",
    "window": "15m",
    "interval": "1m",
    "threshold": "> 0.25",
    "for": "10m",
    "keep_firing_for": "5m",
    "severity": "critical",
    "labels": {"team": "vision"},
    "annotations": {"summary": "{{ device }} p95 +{{ value:.0% }} (baseline {{ baseline }})"},
    "receivers": ["hook"],
}
GOOD_RECEIVER: dict[str, Any] = {
    "name": "hook",
    "type": "webhook",
    "url": "https://hooks.example.invalid/edgewatch",
    "secret": SECRET,
}


def document(rule: dict[str, Any] | None = None, **top: Any) -> str:
    data: dict[str, Any] = {"receivers": [GOOD_RECEIVER], "rules": [rule or GOOD_RULE]}
    data.update(top)
    return yaml.safe_dump(data)


def problems_of(text: str, tmp_path: Path) -> tuple[str, ...]:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    return info.value.problems


def test_a_good_file_becomes_a_rule_set(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(document(route={"receivers": ["hook"], "group_by": ["alertname", "model"]}))
    ruleset = load_rules(path)
    (rule,) = ruleset.rules
    assert (rule.for_s, rule.keep_firing_for_s, rule.window_s, rule.interval_s) == (
        600,
        300,
        900,
        60,
    )
    assert rule.severity is Severity.CRITICAL and rule.scope.level is ScopeLevel.DEVICE
    assert rule.scope.selects({"model": "det"}) and not rule.scope.selects({"model": "cls"})
    assert rule.threshold.holds(0.3) and not rule.threshold.holds(0.25)
    (receiver,) = ruleset.receivers
    assert receiver.kind is ReceiverKind.WEBHOOK and receiver.secret == SECRET
    assert receiver.timing.group_by == ("alertname", "model")
    assert receiver.timing.group_wait_s == 30 and receiver.timing.repeat_interval_s == 4 * 3600
    assert ruleset.default_receivers == ("hook",)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "9lives", "name: must be letters"),
        ("name", None, "name: Input should be a valid string"),
        ("detector", "", "detector: must not be empty"),
        ("signal", "", "signal: must not be empty"),
        ("params", [1], "params: Input should be a valid dictionary"),
        ("scope", {"level": "planet"}, "scope.level: Input should be"),
        ("scope", {"match": ['device=~"("']}, "scope.match[0]: invalid regular expression"),
        ("scope", {"match": ["device"]}, "scope.match[0]: invalid matcher"),
        ("window", "0s", "window: must be longer than 0s"),
        ("window", "15 minutes", "window: invalid duration '15 minutes'"),
        ("interval", "1x", "interval: invalid duration"),
        ("interval", "1h", "interval: longer than window"),
        ("threshold", 0.2, "threshold: expected a comparison such as '> 0.2'"),
        ("threshold", "=> 1", "threshold: invalid threshold"),
        ("for", "5 minutes", "for: invalid duration"),
        ("for", 5, "for: expected a duration string"),
        ("keep_firing_for", "-1m", "keep_firing_for: invalid duration"),
        ("severity", "fatal", "severity: Input should be 'critical', 'warning' or 'info'"),
        ("labels", {"alertname": "x"}, "labels.alertname: 'alertname' is set from the rule"),
        ("labels", {"1bad": "x"}, "labels.1bad: invalid label name"),
        ("labels", {"where": "{{ value }}"}, "labels.where: uses {{ value }}"),
        (
            "annotations",
            {"summary": "{{ nope }}"},
            "annotations.summary: unknown template variable 'nope'",
        ),
        ("annotations", {"summary": "{{ value:Q }}"}, "annotations.summary: invalid format spec"),
        ("receivers", ["nobody"], "receivers[0]: no receiver named 'nobody'"),
        ("tresh", "> 1", "tresh: unknown field (did you mean 'threshold'?)"),
    ],
)
def test_each_invalid_rule_field_gets_its_own_message(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    rule = {**GOOD_RULE, field: value}
    if value is None:
        del rule[field]
        message = f"{field}: required field is missing"
    (problem,) = problems_of(document(rule), tmp_path)
    assert problem.startswith(f"rule {rule.get('name')!r} (rules[0]): ") or problem.startswith(
        "rules[0]: "
    )
    assert message in problem


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "pager", "type: Input should be 'webhook', 'slack' or 'alertmanager'"),
        ("url", "hooks.example.invalid", "url: must be an http:// or https:// URL"),
        ("secret", "hunter2", "secret: a webhook secret must start with 'whsec_'"),
        ("secret", None, "secret: a webhook receiver needs a signing secret"),
        ("group_by", ["1x"], "group_by: invalid label name '1x'"),
        ("group_wait", "soon", "group_wait: invalid duration"),
        ("repeat_interval", "0s", "repeat_interval: must be longer than 0s"),
        ("timeout", 10, "timeout: expected a duration string"),
        ("max_alerts", -1, "max_alerts: Input should be greater than or equal to 0"),
        ("secret_env", "EW_NOT_SET", "secret_env: environment variable EW_NOT_SET is not set"),
    ],
)
def test_each_invalid_receiver_field_gets_its_own_message(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    receiver = {**GOOD_RECEIVER, field: value}
    if value is None:
        del receiver[field]
    if field == "secret_env":
        del receiver["secret"]
    text = yaml.safe_dump({"receivers": [receiver], "rules": [GOOD_RULE]})
    (problem,) = problems_of(text, tmp_path)
    assert problem.startswith("receiver 'hook' (receivers[0]): ")
    assert message in problem
    assert "hunter2" not in problem


def test_a_broken_file_lists_every_problem_at_once(tmp_path: Path) -> None:
    bad_rule = {**GOOD_RULE, "for": "soon", "severity": "fatal", "receivers": ["nobody"]}
    second = {**GOOD_RULE, "name": "Other", "threshold": "big", "window": "0s"}
    text = yaml.safe_dump(
        {
            "external_url": "ftp://x",
            "route": {"receivers": ["ghost"], "group_interval": "never"},
            "receivers": [GOOD_RECEIVER, {**GOOD_RECEIVER, "type": "fax"}],
            "inhibit_rules": [{"source_matchers": [], "target_matchers": ["a=b"]}],
            "rules": [bad_rule, second, {**GOOD_RULE, "name": "Other"}],
        }
    )
    problems = problems_of(text, tmp_path)
    expected = [
        "external_url:",
        "route.receivers[0]: no receiver named 'ghost'",
        "route.group_interval: invalid duration",
        "receivers[1]): type:",
        "rules[0]): for: invalid duration",
        "rules[0]): severity:",
        "rules[0]): receivers[0]: no receiver named 'nobody'",
        "rules[1]): threshold: invalid threshold",
        "rules[1]): window: must be longer than 0s",
        "rule 'Other': the name is used by more than one rule",
        "receiver 'hook': the name is used by more than one receiver",
        "inhibit_rules[0]: source_matchers: List should have at least 1 item",
    ]
    for needle in expected:
        assert sum(needle in p for p in problems) == 1, (needle, problems)
    assert len(problems) == len(expected)


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    (problem,) = problems_of("rules:\n  - name: [unclosed\n", tmp_path)
    assert "YAML syntax error at line 3" in problem


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"(?s)nope\.yaml: 1 problem.*cannot read the file"):
        load_rules(tmp_path / "nope.yaml")


def test_a_broken_reload_keeps_the_old_rules_and_returns_the_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(document())
    current = load_rules(path)
    path.write_text(document({**GOOD_RULE, "for": "later"}))
    result = reload_rules(path, current)
    assert not result.ok and result.ruleset is current
    assert result.errors == (
        f"{path}: rule 'LatencyP95Regression' (rules[0]): for: invalid duration 'later': use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s, 5m, 4h, 1d or 1h30m",
    )
    path.write_text(document({**GOOD_RULE, "for": "1m"}))
    fixed = reload_rules(path, current)
    assert fixed.ok and fixed.ruleset.rules[0].for_s == 60


def test_secrets_stay_out_of_reprs_and_api_dicts() -> None:
    slack = {
        "name": "chat",
        "type": "slack",
        "url": "https://chat.example.invalid/services/T0/B0/tok3n",
    }
    ruleset = load_rules_text(
        yaml.safe_dump({"receivers": [GOOD_RECEIVER, slack], "rules": [GOOD_RULE]})
    )
    for receiver in ruleset.receivers:
        shown = repr(receiver) + str(receiver.to_dict()) + repr(ruleset)
        assert SECRET not in shown and "tok3n" not in shown
    assert ruleset.receiver("hook").to_dict()["signed"] is True
    assert ruleset.receiver("chat").to_dict()["url"] == "https://chat.example.invalid/…"


def test_secret_env_reads_the_named_variable() -> None:
    receiver = {**GOOD_RECEIVER, "secret_env": "EW_HOOK_SECRET"}
    del receiver["secret"]
    text = yaml.safe_dump({"receivers": [receiver], "rules": [GOOD_RULE]})
    ruleset = load_rules_text(text, environ={"EW_HOOK_SECRET": SECRET})
    assert ruleset.receiver("hook").secret == SECRET


def test_default_rules_cover_the_built_in_alerts() -> None:
    ruleset = load_default_rules()
    assert {r.name for r in ruleset.rules} == {
        "DeviceOffline",
        "LatencyP95Regression",
        "MemoryLeak",
        "PowerRiseAtLoad",
        "TemperatureRising",
        "ErrorRateIncrease",
        "ThroughputDrop",
        "FeatureDrift",
        "PredictionDrift",
        "DeviceFeatureDrift",
        "DevicePredictionDrift",
        "DeviceConfidenceDrift",
        "FleetPeerOutlier",
        "BadRollout",
        "DeviceClockSkew",
        "AccuracyDrop",
        "EstimatedAccuracyDrop",
        "LabelCoverageLow",
    }
    assert all(r.annotations.get("summary") for r in ruleset.rules)
    (inhibit,) = ruleset.inhibit_rules
    assert inhibit.equal == ("device",)
    assert ruleset.receivers == ()


def test_receiver_names_allow_dashes_but_not_leading_punctuation(tmp_path: Path) -> None:
    ok = {**GOOD_RECEIVER, "name": "ml-team.eu"}
    rule = {**GOOD_RULE, "receivers": ["ml-team.eu"]}
    assert (
        load_rules_text(yaml.safe_dump({"receivers": [ok], "rules": [rule]})).receivers[0].name
        == "ml-team.eu"
    )
    bad = {**GOOD_RECEIVER, "name": "-team"}
    text = yaml.safe_dump({"receivers": [bad], "rules": [{**GOOD_RULE, "receivers": []}]})
    (problem,) = problems_of(text, tmp_path)
    assert problem.startswith("receiver '-team' (receivers[0]): name: must be letters, digits")
