"""Keeps `#--param` values (secrets, by DESIGN) out of log lines, error messages and answers.

A secret can come back in many spellings: as it is, escaped in JSON (once, or twice when a
JSON text is quoted in a JSON message), escaped by Python's `repr`, URL-encoded, or as one
value inside a structured parameter. Each is masked. `RedactingFilter` applies it to every
log record the server writes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "********"
# Values this short are words like "true" or "8b": masking them would garble every message
# and hide nothing worth hiding.
MIN_SECRET_LENGTH = 6


def spellings(secret: str) -> set[str]:
    """The ways `secret` can appear in text that quotes, escapes or encodes it."""
    found = {secret}
    for text in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        found |= {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    found |= {repr(secret)[1:-1], ascii(secret)[1:-1], quote(secret, safe=""),
              quote(secret), quote_plus(secret)}
    return found


def leaves(value: Any) -> Iterable[str]:
    """A parameter's value as the texts it can show up as: itself, and what it holds."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        yield json.dumps(value)
        yield json.dumps(value, separators=(",", ":"))
        yield json.dumps(value, ensure_ascii=False)
        yield str(value)
        for inner in value.values() if isinstance(value, dict) else value:
            yield from leaves(inner)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[Any]) -> None:
        fresh: set[str] = set()
        for value in values:
            for text in leaves(value):
                if len(text) >= MIN_SECRET_LENGTH:
                    fresh |= {s for s in spellings(text) if len(s) >= MIN_SECRET_LENGTH}
        fresh -= self._secrets
        if fresh:
            self._secrets |= fresh
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's whole message (its arguments included)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._redact(message)
        if masked != message or record.exc_info:
            if record.exc_info:  # the traceback too, which the formatter would add later
                masked += "\n" + self._redact(logging.Formatter().formatException(
                    record.exc_info))
                record.exc_info = None
                record.exc_text = None
            record.msg, record.args = masked, None
        return True
