"""HTTP basic credentials, checked in constant time (the REST API and the dev Ollama)."""

from __future__ import annotations

import base64
import binascii
import hmac


def matches(authorization: str, expected: str) -> bool:
    """Does an `Authorization` header carry exactly `expected` ("user:secret")?"""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected.encode())
