"""The webhook signatures the function verifies, computed the way each sender computes them.

The ONE place the Python tooling signs: tools/gen_events.py (the samples under events/), the
Lambda benchmark harness (bench/lambda/harness) and anything else that needs a signed body
import it (tools/ on sys.path). Each function returns the header value the sender sends.

* Salesloft:             x-salesloft-signature = hex HMAC-SHA1(token, body)
* Salesloft timestamped: x-salesloft-signature = hex HMAC-SHA256(token, "{ts}.{body}"),
                         x-salesloft-timestamp = ts (unix seconds)
* SalesOS:               x-webhook-signature   = hex HMAC-SHA256(secret, body)
* Standard Webhooks:     webhook-signature     = "v1," + base64 HMAC-SHA256(key, "{id}.{ts}.{body}"),
                         keyed with the DECODED secret: "whsec_" + base64(key bytes)

Keys given as text are used as their UTF-8 bytes (the Standard Webhooks secret is decoded
instead). Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = [
    "salesloft",
    "salesloft_timestamped",
    "salesos",
    "standard_key",
    "standard_mac",
    "standard",
]


def _bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def salesloft(body: bytes, token: str | bytes) -> str:
    """Salesloft's signature: lowercase hex HMAC-SHA1 of the raw body, keyed with the token."""
    return hmac.new(_bytes(token), body, hashlib.sha1).hexdigest()


def salesloft_timestamped(body: bytes, timestamp: int | str, token: str | bytes) -> str:
    """Salesloft's opt-in timestamped variant: hex HMAC-SHA256 of "{timestamp}.{body}"."""
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(_bytes(token), message, hashlib.sha256).hexdigest()


def salesos(body: bytes, secret: str | bytes) -> str:
    """SalesOS's signature: hex HMAC-SHA256 of the raw body, keyed with the secret's bytes."""
    return hmac.new(_bytes(secret), body, hashlib.sha256).hexdigest()


def standard_key(secret: str | bytes) -> bytes:
    """The key bytes of a Standard Webhooks secret: "whsec_<base64>" (the prefix optional, as
    the function accepts it) is decoded; bytes are already the key."""
    if isinstance(secret, bytes):
        return secret
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('a Standard Webhooks secret is "whsec_" followed by base64') from None
    if not key:
        raise ValueError("empty Standard Webhooks secret")
    return key


def standard_mac(msg_id: str, timestamp: int | str, body: bytes, key: str | bytes) -> str:
    """Base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the decoded
    secret (Standard Webhooks, symmetric v1): one signature, without its "v1," label."""
    message = f"{msg_id}.{timestamp}.".encode("utf-8") + body
    return base64.b64encode(hmac.new(standard_key(key), message, hashlib.sha256).digest()).decode("ascii")


def standard(msg_id: str, timestamp: int | str, body: bytes, key: str | bytes) -> str:
    """A webhook-signature header with the one entry "v1,<base64>"."""
    return "v1," + standard_mac(msg_id, timestamp, body, key)
