"""Device and admin tokens, stored as salted scrypt hashes (stdlib ``hashlib.scrypt``).

A token reads ``ewt_<token_id>_<secret>``: the id locates the row, the secret is checked
against its hash. Verification is slow on purpose (scrypt), so verified tokens are cached in
memory by their SHA-256 until revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time

import duckdb

from edgewatch.server.store._errors import NotFoundError
from edgewatch.server.store._time import unix_seconds, utc_datetime
from edgewatch.server.store._types import NewToken, Principal, TokenInfo

ROLES = ("admin", "device")
_TOKEN = re.compile(r"^ewt_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _info(row: tuple[object, ...]) -> TokenInfo:
    return TokenInfo(
        token_id=str(row[0]),
        role=str(row[1]),
        device_id=None if row[2] is None else str(row[2]),
        name=str(row[3]),
        created_at_s=unix_seconds(row[4]),
        revoked_at_s=None if row[5] is None else unix_seconds(row[5]),
    )


def create_token(
    cur: duckdb.DuckDBPyConnection, *, role: str, device_id: str | None, name: str, now_s: float
) -> NewToken:
    """Store a new token's hash and return the token (the only time it is visible)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if (role == "device") != (device_id is not None):
        raise ValueError("a device token needs a device id; an admin token must not have one")
    if device_id is not None and not device_id.strip():
        raise ValueError("device id must not be empty")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    cur.execute(
        "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        [token_id, role, device_id, name, salt, _hash(secret, salt), utc_datetime(now_s)],
    )
    info = TokenInfo(token_id, role, device_id, name, now_s, None)
    return NewToken(info, f"ewt_{token_id}_{secret}")


def revoke_token(cur: duckdb.DuckDBPyConnection, token_id: str, *, now_s: float) -> TokenInfo:
    """Mark a token revoked (idempotent); ``NotFoundError`` for an unknown id."""
    row = cur.execute(
        "SELECT token_id, role, device_id, name, created_at, revoked_at FROM tokens WHERE token_id = ?",
        [token_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"token {token_id!r} not found")
    if row[5] is None:
        cur.execute(
            "UPDATE tokens SET revoked_at = ? WHERE token_id = ?", [utc_datetime(now_s), token_id]
        )
        row = (*row[:5], utc_datetime(now_s))
    return _info(row)


def list_tokens(cur: duckdb.DuckDBPyConnection) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = cur.execute(
        "SELECT token_id, role, device_id, name, created_at, revoked_at FROM tokens"
        " ORDER BY created_at DESC, token_id"
    ).fetchall()
    return [_info(r) for r in rows]


class TokenVerifier:
    """Checks bearer tokens against the stored hashes, caching successes until revoked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[bytes, tuple[Principal, float]] = {}

    def verify(
        self, cur: duckdb.DuckDBPyConnection, token: str, ttl_s: float = 300.0
    ) -> Principal | None:
        """The token's principal, or ``None`` when unknown, malformed, wrong or revoked."""
        cached = self.cached(token, ttl_s)
        if cached is not None:
            return cached
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        match = _TOKEN.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        row = cur.execute(
            "SELECT role, device_id, salt, hash FROM tokens WHERE token_id = ? AND revoked_at IS NULL",
            [token_id],
        ).fetchone()
        if row is None or not hmac.compare_digest(_hash(secret, bytes(row[2])), bytes(row[3])):
            return None
        principal = Principal(role=str(row[0]), device_id=row[1], token_id=token_id)
        with self._lock:
            self._cache[digest] = (principal, now)
        return principal

    def cached(self, token: str, ttl_s: float = 300.0) -> Principal | None:
        """The principal of a token verified within ``ttl_s``, or ``None`` (not verified yet,
        expired, or unknown): cheap, no database and no scrypt, so callers on an event loop
        can try it before handing ``verify`` to a thread."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[1] < ttl_s:
            return hit[0]
        return None

    def forget(self, token_id: str) -> None:
        """Drop cached verifications of a revoked token."""
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[0].token_id != token_id}
