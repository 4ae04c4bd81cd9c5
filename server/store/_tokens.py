"""Device and admin tokens: ``ewt_<token_id>_<secret>``, the id locating the row.

The secret is 256 random bits, not a password, so it is stored as SHA-256(salt || secret):
checking it costs microseconds whether it is right, wrong, unknown or revoked, so a wrong
secret neither reveals that a token id exists nor turns the server into a CPU sink. Tokens
created before this scheme hold scrypt hashes (about 60 ms a check); they keep working, are
rewritten as SHA-256 on their first successful verification, and their scrypt checks are
bounded: recent failures are remembered, and beyond a small budget per second the check is
refused with ``AuthThrottledError`` (HTTP 429) instead of run.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import cast

import duckdb

from edgewatch.server.store._errors import NotFoundError, StoreError
from edgewatch.server.store._time import aware_utc, naive_utc
from edgewatch.server.store._types import NewToken, Principal, TokenInfo

ROLES = ("admin", "device")
SHA256 = "sha256"
SCRYPT = "scrypt"
_TOKEN = re.compile(r"^ewt_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_DUMMY_SALT = bytes(16)
_DUMMY_HASH = bytes(32)
"""Compared against when a token id is unknown, so that answer costs what a wrong one does."""

Upgrade = Callable[[Callable[[duckdb.DuckDBPyConnection], object]], object]
"""Runs a function on the store's writer (the verifier rewrites a legacy hash through it)."""


class AuthThrottledError(Exception):
    """Too many authentication attempts to check now; retry after ``retry_after_s`` (429)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _sha256(secret: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def _scrypt(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _info(row: tuple[object, ...]) -> TokenInfo:
    return TokenInfo(
        token_id=str(row[0]),
        role=str(row[1]),
        device_id=None if row[2] is None else str(row[2]),
        name=str(row[3]),
        created_at=aware_utc(cast(datetime, row[4])),
        revoked_at=aware_utc(cast("datetime | None", row[5])),
    )


def create_token(
    cur: duckdb.DuckDBPyConnection, *, role: str, device_id: str | None, name: str, now: datetime
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
        "INSERT INTO tokens (token_id, role, device_id, name, salt, hash, created_at, scheme)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            token_id,
            role,
            device_id,
            name,
            salt,
            _sha256(secret, salt),
            naive_utc(now),
            SHA256,
        ],
    )
    info = TokenInfo(token_id, role, device_id, name, now, None)
    return NewToken(info, f"ewt_{token_id}_{secret}")


def revoke_token(cur: duckdb.DuckDBPyConnection, token_id: str, *, now: datetime) -> TokenInfo:
    """Mark a token revoked (idempotent); ``NotFoundError`` for an unknown id."""
    row = cur.execute(
        "SELECT token_id, role, device_id, name, created_at, revoked_at FROM tokens WHERE token_id = ?",
        [token_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"token {token_id!r} not found")
    if row[5] is None:
        cur.execute(
            "UPDATE tokens SET revoked_at = ? WHERE token_id = ?", [naive_utc(now), token_id]
        )
        row = (*row[:5], naive_utc(now))
    return _info(row)


def list_tokens(cur: duckdb.DuckDBPyConnection) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = cur.execute(
        "SELECT token_id, role, device_id, name, created_at, revoked_at FROM tokens"
        " ORDER BY created_at DESC, token_id"
    ).fetchall()
    return [_info(r) for r in rows]


def _rehash(token_id: str, secret: str) -> Callable[[duckdb.DuckDBPyConnection], object]:
    """The writer's job that moves a legacy token to SHA-256 (revocation untouched)."""
    salt = secrets.token_bytes(16)

    def run(cur: duckdb.DuckDBPyConnection) -> object:
        return cur.execute(
            "UPDATE tokens SET salt = ?, hash = ?, scheme = ? WHERE token_id = ? AND scheme = ?",
            [salt, _sha256(secret, salt), SHA256, token_id, SCRYPT],
        )

    return run


class LegacyBudget:
    """A token bucket of scrypt checks: ``per_s`` a second, ``burst`` at once, so wrong
    secrets for legacy tokens cost at most ``per_s`` x ~60 ms of CPU a second (6 % of a core
    by default). Each legacy token needs one check ever (it is then SHA-256), so a fleet of
    1,000 such devices migrates within about 17 minutes, retrying on 429 meanwhile."""

    def __init__(self, per_s: float = 1.0, burst: int = 3) -> None:
        if per_s <= 0 or burst < 1:
            raise ValueError(f"per_s must be > 0 and burst >= 1, got {per_s}, {burst}")
        self.per_s = per_s
        self.burst = burst
        self._level = float(burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Spend one check, or raise ``AuthThrottledError`` saying when one is available."""
        with self._lock:
            now = time.monotonic()
            self._level = min(self.burst, self._level + (now - self._at) * self.per_s)
            self._at = now
            if self._level < 1.0:
                wait_s = (1.0 - self._level) / self.per_s
                raise AuthThrottledError(
                    "too many checks of tokens created before SHA-256 hashing; retry later",
                    wait_s,
                )
            self._level -= 1.0


class TokenVerifier:
    """Checks bearer tokens against the stored hashes, caching successes until revoked."""

    def __init__(self, *, legacy: LegacyBudget | None = None, failures_kept: int = 4096) -> None:
        self._lock = threading.Lock()
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._legacy = legacy or LegacyBudget()
        self._failures: OrderedDict[bytes, None] = OrderedDict()
        self._failures_kept = failures_kept

    def verify(
        self,
        cur: duckdb.DuckDBPyConnection,
        token: str,
        ttl_s: float = 300.0,
        *,
        upgrade: Upgrade | None = None,
    ) -> Principal | None:
        """The token's principal, or ``None`` when unknown, malformed, wrong or revoked.

        ``upgrade`` runs the rewrite of a legacy (scrypt) hash once it verified; raises
        ``AuthThrottledError`` when a legacy check is over its budget."""
        cached = self.cached(token, ttl_s)
        if cached is not None:
            return cached
        match = _TOKEN.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        row = cur.execute(
            "SELECT role, device_id, salt, hash, scheme FROM tokens"
            " WHERE token_id = ? AND revoked_at IS NULL",
            [token_id],
        ).fetchone()
        digest = hashlib.sha256(token.encode()).digest()
        if row is None or row[4] == SHA256:
            # an unknown id is checked against a dummy hash, so it costs what a wrong secret does
            salt, stored = (_DUMMY_SALT, _DUMMY_HASH) if row is None else (row[2], row[3])
            matched = hmac.compare_digest(_sha256(secret, bytes(salt)), bytes(stored))
            if row is None or not matched:
                return None
        elif not self._legacy_ok(digest, secret, bytes(row[2]), bytes(row[3])):
            return None
        elif upgrade is not None:
            # a busy or closing writer only delays the upgrade to the next verification
            with contextlib.suppress(StoreError):
                upgrade(_rehash(token_id, secret))
        principal = Principal(role=str(row[0]), device_id=row[1], token_id=token_id)
        with self._lock:
            self._cache[digest] = (principal, time.monotonic())
        return principal

    def _legacy_ok(self, digest: bytes, secret: str, salt: bytes, stored: bytes) -> bool:
        """A scrypt check within the budget; a token that failed recently fails again free."""
        with self._lock:
            if digest in self._failures:
                self._failures.move_to_end(digest)
                return False
        self._legacy.take()
        if hmac.compare_digest(_scrypt(secret, salt), stored):
            return True
        with self._lock:
            self._failures[digest] = None
            while len(self._failures) > self._failures_kept:
                self._failures.popitem(last=False)
        return False

    def cached(self, token: str, ttl_s: float = 300.0) -> Principal | None:
        """The principal of a token verified within ``ttl_s``, or ``None`` (not verified yet,
        expired, or unknown): cheap, no database, so callers on an event loop can try it
        before handing ``verify`` to a thread."""
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
