"""Untrusted JSON (a request body, an action's stream or results) read without letting it crash
the reader: malformed, too deeply nested, not UTF-8, or holding NaN or Infinity (which JSON does
not have, and browsers' JSON.parse rejects), it is a MalformedJSON with a clear message."""

from __future__ import annotations

import json
from typing import Any


class MalformedJSON(ValueError):
    pass


class NotJSONNumber(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads and writes them, JSON has no such thing."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def reject_constant(name: str) -> Any:
    raise NotJSONNumber(name)


def strict_loads(data: bytes | str) -> Any:
    """`json.loads`, refusing NaN and Infinity (NotJSONNumber, a ValueError)."""
    return json.loads(data, parse_constant=reject_constant)


def parse_json(data: bytes | str) -> Any:
    try:
        return strict_loads(data)
    except RecursionError:
        raise MalformedJSON("The request content was malformed: JSON nested too deeply "
                            "to be read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJSON(f"The request content was malformed: {exc}") from None
