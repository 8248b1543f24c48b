"""Wait for a condition without sleeping a fixed time: poll it, bounded."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 15.0,
               interval: float = 0.02) -> bool:
    """True as soon as `condition()` is; False if it still is not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
