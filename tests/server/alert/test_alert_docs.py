"""docs/alerts.md stays true: its complete rules example loads, and its standard-library
verification snippet accepts our signed deliveries and rejects tampered ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgewatch.server.alert import generate_secret, load_rules_text, signature_headers

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerts.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_complete_example_is_a_valid_rules_file() -> None:
    example = _blocks("yaml")[0]
    ruleset = load_rules_text(
        example, "docs example", environ={"EDGEWATCH_ONCALL_SECRET": generate_secret()}
    )
    assert [r.name for r in ruleset.rules] == ["LatencyP95Regression"]
    assert [r.name for r in ruleset.receivers] == ["oncall", "ml-team", "alertmanager"]
    oncall = ruleset.receiver("oncall")
    assert (
        oncall.timing.group_by == ("alertname", "device")
        and oncall.timing.repeat_interval_s == 3600
    )
    assert oncall.timing.group_wait_s == 30


def test_the_plain_hmac_snippet_verifies_our_signatures() -> None:
    text = DOC.read_text()
    snippet = re.search(r"<!-- verify-hmac -->\n```python\n(.*?)```", text, re.DOTALL)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    verify = namespace["verify"]
    secret = generate_secret()
    body = b'{"status":"firing"}'
    headers = signature_headers(secret, "msg_1", int(datetime.now(UTC).timestamp()), body)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(generate_secret(), headers, body)
    stale = signature_headers(secret, "msg_1", int(datetime.now(UTC).timestamp()) - 3600, body)
    assert not verify(secret, stale, body)
