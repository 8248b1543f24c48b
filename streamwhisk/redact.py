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
    found |= {repr(secret)[1:-1], ascii(secret)[1:-1]}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        for twice in (encoded, quote(encoded, safe="")):  # URL-encoded once, or twice
            found |= {twice, _PERCENT.sub(lambda m: m.group().lower(), twice)}  # %2F and %2f
    return found


_PERCENT = re.compile(r"%[0-9A-F]{2}")


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
        self._bytes_pattern: re.Pattern[bytes] | None = None
        self.longest = 0  # bytes, of the longest spelling: how far a secret can reach

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
            encoded = [s.encode("utf-8", "surrogatepass") for s in ordered]
            self._bytes_pattern = re.compile(b"|".join(re.escape(e) for e in encoded))
            self.longest = max(len(e) for e in encoded)

    def safe_cut(self, data: bytes, at: int) -> int:
        """Where to cut `data` near `at` so that no secret is cut in two (and so escapes
        the masking of each piece): `at`, or the start of the secret lying across it."""
        if self._bytes_pattern is None:
            return at
        for found in self._bytes_pattern.finditer(data, max(0, at - self.longest),
                                                  at + self.longest):
            if found.start() < at < found.end():
                return found.start() if found.start() > 0 else found.end()
        return at

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record: in its message and each of its arguments, keeping the
    record's shape (a formatter may count on its arguments: uvicorn's access formatter
    does); only a secret that the formatting itself puts together makes the record one
    masked text."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._redact(message)
        if masked == message and not record.exc_info:
            return True
        if record.exc_info:  # the traceback too, which the formatter would add later
            record.exc_text = self._redact(logging.Formatter().formatException(
                record.exc_info))
            record.exc_info = None
        record.msg = self._redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(a) if isinstance(a, str) else a
                                for a in record.args)
        with_args = record.getMessage() if record.args else record.msg
        if self._redact(with_args) != with_args:  # a secret made of two arguments
            record.msg, record.args = masked, None
        return True
