"""Fuzz the REST API from its own OpenAPI document: no input may get a 5xx (issue #12), and
every answer is one the document describes (issue #16).

schemathesis generates requests for every operation (valid and invalid: huge numbers, NaN,
odd strings, wrong types) and sends them with an admin token to a real server on loopback;
the checks: no server error, the status is a declared one, the body fits the declared
schema, the content type is the declared one, and a 405's ``Allow`` is right. Bounded in examples per operation and seeded
(``derandomize``), so a CI run is repeatable and takes well under a minute.
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
from server_harness import make_tokens, serve_in_thread

from edgewatch.server.settings import load_settings

EXAMPLES = 25
"""Generated cases per operation (about 40 operations)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    allow_header_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server (with alerting, so every router answers) holding one device's export, and
    its admin token."""
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
        yield url, tokens.admin
    finally:
        server.should_exit = True
        thread.join(15)


def _check_operation(operation: APIOperation, admin: str) -> str | None:
    """Fuzz one operation with valid and invalid cases; the first failed check, if any."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {admin}"}, checks=CHECKS, timeout=30
        )

    try:
        run()
    except (Exception, BaseExceptionGroup) as e:  # failed checks (a group): report, go on
        return f"{operation.label}: {type(e).__name__}: {str(e)[:600]}"
    return None


def test_every_answer_is_declared_and_none_is_a_server_error(fuzz_server: tuple[str, str]) -> None:
    url, admin = fuzz_server
    schema = from_url(f"{url}/openapi.json")
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        failure = _check_operation(result.ok(), admin)
        if failure is not None:
            failures.append(failure)
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
