"""Durations, matchers, fingerprints, templates and signatures: the small pure pieces."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from edgewatch.server.alert import (
    DurationError,
    Matcher,
    MatcherError,
    MatchOp,
    Template,
    TemplateError,
    fingerprint,
    format_duration,
    generate_secret,
    parse_duration,
    parse_matcher,
    secret_key,
    sign,
)

label_names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
label_sets = st.dictionaries(label_names, st.text(max_size=12), max_size=8)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("4h", 14400),
        ("1d", 86400),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("0", 0),
    ],
)
def test_durations_read_like_prometheus(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "m5", "30m1h", "1h1h", "-5m", "1.5h"])
def test_bad_durations_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(DurationError, match=r"duration"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('device="cam-1"', {"device": "cam-1"}, True),
        ('device="cam-1"', {"device": "cam-10"}, False),
        ('device!="cam-1"', {}, True),
        ('device=""', {}, True),  # a missing label reads as ""
        ('device=~"cam-.*"', {"device": "cam-7"}, True),
        ('device=~"cam"', {"device": "cam-7"}, False),  # regexes are anchored
        ('device!~"cam-.*"', {"device": "gw-1"}, True),
        ('device!~"cam-.*"', {"device": "cam-2"}, False),
        ("severity=critical", {"severity": "critical"}, True),
    ],
)
def test_matchers_follow_alertmanager(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("device", "expected name"), ("1dev=x", "expected name"), ('d=~"("', "regular expression")],
)
def test_bad_matchers_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=message):
        parse_matcher(text)


@given(st.text(max_size=20))
def test_matcher_text_round_trips(value: str) -> None:
    m = Matcher("device", MatchOp.EQUAL, value)
    assert parse_matcher(str(m)) == m
    assert Matcher.from_dict(m.to_dict()) == m


@given(label_sets, st.randoms())
def test_fingerprint_ignores_label_order(labels: dict[str, str], rnd: random.Random) -> None:
    items = list(labels.items())
    rnd.shuffle(items)
    assert fingerprint(dict(items)) == fingerprint(labels)


@given(label_sets, label_names, st.text(max_size=5))
def test_fingerprint_changes_with_any_label(labels: dict[str, str], name: str, value: str) -> None:
    changed = {**labels, name: labels.get(name, "") + value + "x"}
    assert fingerprint(changed) != fingerprint(labels)


def test_fingerprint_is_prometheus_fnv1a() -> None:
    # The empty label set hashes to FNV-1a's offset basis, as in Prometheus' model package.
    assert fingerprint({}) == "cbf29ce484222325"
    assert len(fingerprint({"alertname": "X"})) == 16


def test_templates_substitute_and_format() -> None:
    t = Template("{{ device }}: p95 {{ value:.1% }} above {{baseline}} ({{ feature }})")
    assert t.render({"device": "cam-1", "value": 0.253, "baseline": 0.0123}) == (
        "cam-1: p95 25.3% above 0.0123 (n/a)"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ __import__ }}", "unknown template variable"),
        ("{{ device.__class__ }}", "malformed"),
        ("{{ value:Z }}", "invalid format spec"),
        ("{{ value", "malformed"),
    ],
)
def test_templates_refuse_anything_but_variables(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        Template(source)


def test_our_signature_verifies_with_the_reference_library() -> None:
    secret = generate_secret()
    body = b'{"status":"firing","alerts":[]}'
    now = int(datetime.now(UTC).timestamp())
    signature = sign(secret, "msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert Webhook(secret).verify(body, headers) == {"status": "firing", "alerts": []}


@pytest.mark.parametrize("secret", ["abc", "whsec_!!!", "whsec_" + "QUJD"])
def test_bad_secrets_are_refused_without_echoing_them(secret: str) -> None:
    with pytest.raises(ValueError, match="secret") as info:
        secret_key(secret)
    assert secret not in str(info.value)
