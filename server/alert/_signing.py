"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 over "id.timestamp.body">``.

See https://www.standardwebhooks.com — secrets are ``whsec_`` followed by base64 key bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["SECRET_PREFIX", "generate_secret", "secret_key", "sign", "signature_headers"]

SECRET_PREFIX = "whsec_"


def generate_secret(size_bytes: int = 32) -> str:
    """A fresh random secret in ``whsec_<base64>`` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size_bytes)).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ``ValueError`` (never echoing it) if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret must start with 'whsec_' followed by base64 bytes")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("the webhook secret after 'whsec_' is not valid base64") from e
    if len(key) < 16:
        raise ValueError("a webhook secret needs at least 16 key bytes (24 base64 characters)")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
