"""HTTP basic credentials: OpenWhisk's `uuid:key` as a client sends it, and checked in constant
time (the REST API and the dev Ollama)."""

from __future__ import annotations

import base64
import binascii
import hmac


def credentials(key: str) -> tuple[str, str] | None:
    """`uuid:key` as httpx's `auth=(user, password)`; None when it is not one.

    >>> credentials("23bc46b1:secret:with:colons")
    ('23bc46b1', 'secret:with:colons')
    >>> credentials("no-colon") is None
    True
    """
    user, colon, password = key.partition(":")
    return (user, password) if colon else None


def is_blank(credential: str) -> bool:
    """No credential at all: empty, or only colons and spaces (`AUTH=`, `AUTH=:`)."""
    return not credential.replace(":", "").strip()


def matches(authorization: str, expected: str) -> bool:
    """Does an `Authorization` header carry exactly `expected` ("user:secret")? An empty
    `expected` is no credential at all: nothing matches it, an empty header least of all."""
    if is_blank(expected):
        return False
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(given) and hmac.compare_digest(given, expected.encode())
