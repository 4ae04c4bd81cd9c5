"""Authentication at the boundary (issue #12, finding 5), against a real server on loopback.

A wrong secret must cost what a right, unknown or malformed one costs (no scrypt), answer
exactly like an unknown id (no token-id oracle), and a source that keeps failing is slowed
by 429 + Retry-After. Tokens from databases made before SHA-256 (scrypt rows) keep working,
move to SHA-256 on first use, and wrong secrets for them run a bounded number of scrypts.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest
from live_server import free_port, wait_ready
from otlp_wire import collector_body, collector_headers, device_batch
from server_harness import Tokens, make_tokens, serve_in_thread

from edgewatch.server.settings import load_settings
from edgewatch.server.store import Store
from edgewatch.server.store._tokens import LegacyBudget

BURST = 6


class ScryptCounter:
    """Counts calls of ``hashlib.scrypt`` in this process (the server runs in a thread)."""

    def __init__(self, real: Callable[..., bytes]) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> bytes:
        self.calls += 1
        return self.real(*args, **kwargs)


def _make_legacy(db: Path, *tokens: str, old_schema: bool = False) -> None:
    """Rewrite ``tokens``' rows as a pre-SHA-256 database holds them: salted scrypt hashes;
    with ``old_schema`` the file is rolled back to before migration 015 (no ``scheme``)."""
    con = duckdb.connect(str(db))
    try:
        for token in tokens:
            _, token_id, secret = token.split("_", 2)
            salt = secrets.token_bytes(16)
            digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
            con.execute(
                "UPDATE tokens SET salt = ?, hash = ?, scheme = 'scrypt' WHERE token_id = ?",
                [salt, digest, token_id],
            )
        if old_schema:
            con.execute("ALTER TABLE tokens DROP COLUMN scheme")
            con.execute("DELETE FROM schema_version WHERE version = 15")
    finally:
        con.close()


@dataclass
class Live:
    url: str
    tokens: Tokens
    app: object

    def store_forget(self, token: str) -> None:
        """Drop the server's cached verification of ``token`` (as a restart would)."""
        store: Store = self.app.state.store  # type: ignore[attr-defined]
        store._tokens.forget(token.split("_", 2)[1])


@contextmanager
def _serving(db: Path, tokens: Tokens, burst: int = BURST) -> Iterator[Live]:
    """A server on ``db`` (alerting off); sources may fail ``burst`` times before 429."""
    port = free_port()
    settings = load_settings(
        db_path=db,
        port=port,
        alerting=False,
        auth_failure_burst=burst,
        auth_failures_per_minute=6.0,
    )
    uvicorn_server, thread, app = serve_in_thread(settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield Live(url, tokens, app)
    finally:
        uvicorn_server.should_exit = True
        thread.join(15)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """A server whose ``device_b`` token is a legacy scrypt row; sources may fail ``BURST``
    times (or the parameter's) before 429."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    _make_legacy(db, tokens.device_b)
    with _serving(db, tokens, getattr(request, "param", BURST)) as live:
        yield live


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> ScryptCounter:
    counter = ScryptCounter(hashlib.scrypt)
    monkeypatch.setattr(hashlib, "scrypt", counter)
    return counter


def _wrong(token: str) -> str:
    """The same token id with another (well-formed) secret."""
    prefix, token_id, _ = token.split("_", 2)
    return f"{prefix}_{token_id}_{secrets.token_urlsafe(32)}"


def _unknown() -> str:
    return f"ewt_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def _ingest(client: httpx.Client, url: str, token: str, device: str) -> httpx.Response:
    body = collector_body(device_batch(device, end_ns=time.time_ns(), inferences=5, features=2))
    return client.post(f"{url}/v1/metrics", content=body, headers=collector_headers(token))


def test_wrong_secret_runs_no_scrypt_and_answers_like_an_unknown_id(
    server: Live, scrypt_calls: ScryptCounter
) -> None:
    url, tokens = server.url, server.tokens
    with httpx.Client(timeout=10.0) as client:
        answers = []
        for token in (_wrong(tokens.admin), _unknown(), _wrong(tokens.device_a)):
            r = client.get(f"{url}/api/v1/devices", headers={"Authorization": f"Bearer {token}"})
            answers.append((r.status_code, r.json(), r.headers.get("www-authenticate")))
        wrong_ingest = _ingest(client, url, _wrong(tokens.device_a), "dev-a")
        unknown_ingest = _ingest(client, url, _unknown(), "dev-a")
        right = _ingest(client, url, tokens.device_a, "dev-a")
    assert scrypt_calls.calls == 0
    assert answers == [(401, {"detail": "invalid or revoked token"}, "Bearer")] * 3
    assert (wrong_ingest.status_code, wrong_ingest.content) == (
        unknown_ingest.status_code,
        unknown_ingest.content,
    )
    assert wrong_ingest.status_code == 401
    assert right.status_code == 200


def test_a_source_that_keeps_failing_gets_429_but_verified_tokens_pass(
    server: Live,
) -> None:
    url, tokens = server.url, server.tokens
    with httpx.Client(timeout=10.0) as client:
        assert _ingest(client, url, tokens.device_a, "dev-a").status_code == 200
        statuses = []
        for _ in range(BURST + 3):
            r = client.get(
                f"{url}/api/v1/devices", headers={"Authorization": f"Bearer {_wrong(tokens.admin)}"}
            )
            statuses.append(r.status_code)
        throttled = client.get(
            f"{url}/api/v1/devices", headers={"Authorization": f"Bearer {_unknown()}"}
        )
        ingest_throttled = _ingest(client, url, _unknown(), "dev-a")
        still_ok = _ingest(client, url, tokens.device_a, "dev-a")
    assert statuses[:BURST] == [401] * BURST
    assert set(statuses[BURST:]) == {429}
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "too many failed authentications" in throttled.json()["detail"]
    assert ingest_throttled.status_code == 429
    assert int(ingest_throttled.headers["retry-after"]) >= 1
    assert still_ok.status_code == 200


def _scheme(app: object, token: str) -> str:
    """The hash scheme of ``token``'s row, read through the running server's own store."""
    store: Store = app.state.store  # type: ignore[attr-defined]
    row = store._db.read(
        lambda cur: cur.execute(
            "SELECT scheme FROM tokens WHERE token_id = ?", [token.split("_", 2)[1]]
        ).fetchone()
    )
    assert row is not None
    return str(row[0])


def test_legacy_scrypt_token_works_then_moves_to_sha256(
    server: Live, scrypt_calls: ScryptCounter
) -> None:
    assert _scheme(server.app, server.tokens.device_b) == "scrypt"
    with httpx.Client(timeout=10.0) as client:
        assert _ingest(client, server.url, server.tokens.device_b, "dev-b").status_code == 200
    assert scrypt_calls.calls == 1
    deadline = time.monotonic() + 5.0
    while _scheme(server.app, server.tokens.device_b) != "sha256":
        assert time.monotonic() < deadline, "the legacy hash was not upgraded"
        time.sleep(0.05)
    server.store_forget(server.tokens.device_b)
    with httpx.Client(timeout=10.0) as client:
        assert _ingest(client, server.url, server.tokens.device_b, "dev-b").status_code == 200
    assert scrypt_calls.calls == 1


@pytest.mark.parametrize("server", [1000], indirect=True)
def test_wrong_secrets_for_a_legacy_token_run_bounded_scrypt(
    server: Live, scrypt_calls: ScryptCounter
) -> None:
    """30 wrong secrets (10 distinct, each sent three times) with no per-source limit in the
    way: the scrypt budget (``burst`` at once, ``per_s`` a second) runs a handful, the rest are
    429 with Retry-After or, for a secret that already failed, 401 from memory."""
    budget = LegacyBudget()
    wrong = [_wrong(server.tokens.device_b) for _ in range(10)]
    started = time.monotonic()
    statuses = []
    with httpx.Client(timeout=10.0) as client:
        for token in wrong * 3:
            r = client.get(
                f"{server.url}/api/v1/devices/dev-b/config",
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
    elapsed = time.monotonic() - started
    assert set(statuses) == {401, 429}
    assert 1 <= scrypt_calls.calls <= budget.burst + budget.per_s * elapsed + 1


def test_a_database_from_before_sha256_keeps_its_tokens(
    tmp_path: Path, scrypt_calls: ScryptCounter
) -> None:
    """A user's file from before migration 015 (every token scrypt, no ``scheme`` column):
    the server migrates it, each token works on its first use and is SHA-256 from then on."""
    db = tmp_path / "edgewatch.duckdb"
    tokens = make_tokens(db)
    every = (tokens.admin, tokens.device_a, tokens.device_b)
    _make_legacy(db, *every, old_schema=True)
    made = scrypt_calls.calls
    with _serving(db, tokens) as live, httpx.Client(timeout=10.0) as client:
        assert _ingest(client, live.url, tokens.device_a, "dev-a").status_code == 200
        assert _ingest(client, live.url, tokens.device_b, "dev-b").status_code == 200
        devices = client.get(f"{live.url}/api/v1/devices", headers=_bearer(tokens.admin))
        assert devices.status_code == 200
        assert devices.json()["count"] == 2
        deadline = time.monotonic() + 5.0
        while {_scheme(live.app, t) for t in every} != {"sha256"}:
            assert time.monotonic() < deadline, "legacy hashes were not upgraded"
            time.sleep(0.05)
    assert scrypt_calls.calls - made == 3


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/tokens"),
        ("PUT", "/api/v1/devices/dev-a/sampling"),
        ("POST", "/api/v1/baselines/pin"),
        ("POST", "/api/v1/profiles"),
    ],
)
def test_the_admin_check_comes_before_the_body_is_read(
    server: Live, method: str, path: str
) -> None:
    """A body that does not parse is judged only for an admin: without a token it is a 401 and
    with a device token a 403, not a 400/422 describing the body (schemathesis found a device
    token's broken body on ``/ack`` answered 400 "error parsing the body")."""
    answers = {}
    for caller, token in (
        ("anonymous", None),
        ("device", server.tokens.device_a),
        ("admin", server.tokens.admin),
    ):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        answers[caller] = httpx.request(
            method, f"{server.url}{path}", content=b'{"not json', headers=headers
        )
    assert answers["anonymous"].status_code == 401
    assert answers["anonymous"].json()["detail"] == "missing bearer token"
    assert answers["device"].status_code == 403
    assert answers["admin"].status_code == 422
