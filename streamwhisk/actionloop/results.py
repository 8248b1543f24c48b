"""What a worker sends back on its result fd: whole lines, one writer at a time, and a result
as strict JSON (or the action's mistake, said as such)."""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any

from .messages import Done, Ready, StreamFrom

MAX_RESULT_BYTES = 1024 * 1024


class ResultChannel:
    """The result fd: whole lines, one writer at a time."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: Ready | StreamFrom | Done | bytes) -> None:
        data = memoryview(message if isinstance(message, bytes) else message.encode())
        with self._lock:
            while data:
                data = data[os.write(self._fd, data):]


class ResultRefused(ValueError):
    """A result the action loop cannot send: the action's mistake, said as such."""


def strict_json(result: dict[str, Any]) -> str:
    """The result as JSON, or a ValueError naming where it is not: NaN and Infinity are not
    JSON numbers (Python writes them; a browser's JSON.parse, and OpenWhisk, refuse them)."""
    try:
        return json.dumps(result, ensure_ascii=False, allow_nan=False)
    except ValueError:
        where = _not_finite(result, "result")
        raise ResultRefused(f"The action's result is not JSON: {where} is not a JSON number; "
                         "NaN and Infinity have no JSON form (return null or a string)"
                         ) from None


def _not_finite(value: Any, path: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} ({value})"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list | tuple) else ()
    for key, inner in items:
        found = _not_finite(inner, f"{path}[{key!r}]")
        if found:
            return found
    return ""
