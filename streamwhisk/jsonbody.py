"""Untrusted JSON (a request body, an action's stream) read without letting it crash the
reader: malformed, too deeply nested or not UTF-8, it is a MalformedJSON with a clear message."""

from __future__ import annotations

import json
from typing import Any


class MalformedJSON(ValueError):
    pass


def parse_json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise MalformedJSON("The request content was malformed: JSON nested too deeply "
                            "to be read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJSON(f"The request content was malformed: {exc}") from None
