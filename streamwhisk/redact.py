"""Keeps `#--param` values (secrets, by DESIGN) out of log lines and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "********"
# Values this short are words like "true" or "8b": masking them would garble every message
# and hide nothing worth hiding.
MIN_SECRET_LENGTH = 6


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        fresh = {v for v in values if len(v) >= MIN_SECRET_LENGTH} - self._secrets
        if fresh:
            self._secrets |= fresh
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)
