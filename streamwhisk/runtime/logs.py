"""What a worker prints, relayed to the server's log: labelled, redacted, capped per activation.

The cap is OpenWhisk's `limits.logs` (10 MB by default, `#--logsize` in MB): past it, one line
says the rest was dropped. The action loop prints END_OF_ACTIVATION on stdout and on stderr
after each activation, so each stream knows where an activation's output ends; with
`limits.concurrency` > 1 the activations running together share one budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..actionloop.messages import END_OF_ACTIVATION

log = logging.getLogger("streamwhisk.action")

LONGEST_LINE = 64 * 1024
_MARKER = END_OF_ACTIVATION.encode()


class ActionLogs:
    def __init__(self, label: Callable[[], str], limit_bytes: int,
                 redact: Callable[[str], str]) -> None:
        self._label = label
        self._limit = limit_bytes
        self._redact = redact
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._window: dict[str, int] = {"stdout": 0, "stderr": 0}  # activations ended so far
        self._used: dict[int, int] = {}  # window -> bytes logged
        self._truncated: set[int] = set()

    def feed(self, stream: str, data: bytes) -> None:
        text = self._partial[stream] + data
        *lines, rest = text.split(b"\n")
        while len(rest) > LONGEST_LINE:  # a line with no end in sight: log it in pieces
            lines.append(rest[:LONGEST_LINE])
            rest = rest[LONGEST_LINE:]
        self._partial[stream] = rest
        for line in lines:
            self._line(stream, line)

    def flush(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self._line(stream, rest)
            self._partial[stream] = b""

    def _line(self, stream: str, line: bytes) -> None:
        if line == _MARKER:
            self._window[stream] += 1
            oldest = min(self._window.values())
            for window in [w for w in self._used if w < oldest]:
                del self._used[window]
                self._truncated.discard(window)
            return
        window = self._window[stream]
        used = self._used.get(window, 0) + len(line) + 1
        self._used[window] = used
        if used > self._limit:
            if window not in self._truncated:
                self._truncated.add(window)
                log.warning("%s %s: the activation's logs passed the %d-byte limit; the rest "
                            "is dropped (raise it with #--logsize MB)", self._label(), stream,
                            self._limit)
            return
        if not line:
            return
        text = line.decode("utf-8", "replace").rstrip("\r")
        log.info("%s %s: %s", self._label(), stream, self._redact(text))
