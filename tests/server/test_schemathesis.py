"""Fuzz the REST API from its own OpenAPI document: no input may get a 5xx (issue #12), and
every answer is one the document describes (issue #16).

schemathesis generates requests for every operation (valid and invalid: huge numbers, NaN,
odd strings, wrong types) and sends them to a real server on loopback, with an admin token,
with a device token and with none; the checks: no server error, the status is a declared
one, the body fits the declared schema, the content type is the declared one, and a 405's
``Allow`` is right. Without a token every secured operation answers 401 whatever the
request holds, and a device token gets 403 from every admin operation. Bounded in examples
per operation and seeded (``derandomize``), so a CI run is repeatable and takes well under
a minute.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from live_server import free_port, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_url
from schemathesis.schemas import APIOperation
from server_harness import Tokens, make_tokens, serve_in_thread

from edgewatch.server.settings import load_settings

EXAMPLES = 25
"""Generated cases per operation (about 40 operations) with the admin token."""
REFUSED_EXAMPLES = 5
"""... and without a token or with a device token, on the operations that need one (their
answers are refusals, so few cases find an ordering fault)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    allow_header_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Tokens]]:
    """A server (with alerting, so every router answers) holding one device's export, and
    its tokens."""
    db: Path = tmp_path_factory.mktemp("fuzz") / "edgewatch.duckdb"
    tokens = make_tokens(db)
    port = free_port()
    server, thread, _ = serve_in_thread(
        load_settings(db_path=db, port=port, scheduler_tick_s=60.0, auth_failure_burst=10_000)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        batch = device_batch("dev-a", end_ns=time.time_ns(), inferences=50, features=2)
        r = httpx.post(
            f"{url}/v1/metrics",
            content=collector_body(batch),
            headers=collector_headers(tokens.device_a),
        )
        assert r.status_code == 200, r.text
        yield url, tokens
    finally:
        server.should_exit = True
        thread.join(15)


def _refusal(operation: APIOperation, role: str, sent: str | None, token: str) -> int | None:
    """The status a request must get whatever else it holds: 401 where the document asks for
    a token and the request did not carry ours (none, or one schemathesis mangled), 403 for
    a device token on the admin API (``/api/v1``; generated device ids are never its own)."""
    if not operation.definition.raw.get("security"):
        return None
    if sent != f"Bearer {token}":
        return 401
    return 403 if role == "device" and operation.path.startswith("/api/v1/") else None


def _check_operation(operation: APIOperation, role: str, token: str, examples: int) -> str | None:
    """Fuzz one operation with valid and invalid cases as ``role`` (``admin``, ``device``, or
    ``anonymous``: no Authorization header); the first failed check, if any."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {token}"}

    @given(case=cases)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        response = case.call(headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)
        sent = response.request.headers.get("Authorization")
        refusal = _refusal(operation, role, sent, token)
        if refusal is not None:
            assert response.status_code == refusal, (
                f"{response.status_code} instead of {refusal}: {response.text[:200]}"
            )

    try:
        run()
    except (Exception, BaseExceptionGroup) as e:  # failed checks (a group): report, go on
        return f"{operation.label}: {type(e).__name__}: {str(e)[:600]}"
    return None


def _fuzz_all(url: str, role: str, token: str, examples: int) -> list[str]:
    """Every operation of the served document fuzzed as ``role``; the failures."""
    schema = from_url(f"{url}/openapi.json")
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        operation = result.ok()
        if role != "admin" and not operation.definition.raw.get("security"):
            continue
        failure = _check_operation(operation, role, token, examples)
        if failure is not None:
            failures.append(failure)
    assert operations >= 30
    return failures


def test_every_answer_is_declared_and_none_is_a_server_error(
    fuzz_server: tuple[str, Tokens],
) -> None:
    url, tokens = fuzz_server
    failures = _fuzz_all(url, "admin", tokens.admin, EXAMPLES)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("role", ["anonymous", "device"])
def test_a_caller_without_admin_rights_is_refused_as_declared(
    fuzz_server: tuple[str, Tokens], role: str
) -> None:
    """Without our token every secured operation is a 401 before anything else is judged (a
    400, 415 or 422 would tell a stranger what the server reads), and a device token is a
    403 on the admin API; both answers are declared, with their body and content type."""
    url, tokens = fuzz_server
    failures = _fuzz_all(url, role, tokens.device_a, REFUSED_EXAMPLES)
    assert not failures, "\n\n".join(failures)
