"""What a worker prints, relayed to the server's log: labelled, redacted, capped per activation.

The cap is OpenWhisk's `limits.logs` (10 MB by default, `#--logsize` in MB): past it, one line
says the rest was dropped. An activation's budget starts afresh when the one before it ends:
the worker drains the log pipes when it reads an activation's result, and what the action
printed before returning is in the pipes by then (it was written before the result was). With
`limits.concurrency` > 1 the activations running together share one budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..redact import Redactor

log = logging.getLogger("streamwhisk.action")

LONGEST_LINE = 64 * 1024


class ActionLogs:
    def __init__(self, label: Callable[[], str], limit_bytes: int, redact: Redactor,
                 note: Callable[[str, str], None] | None = None) -> None:
        """`note(stream, line)` is told each line kept (masked), for the activation's record."""
        self._label = label
        self._note = note
        self._limit = limit_bytes
        self._redact = redact
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._used = 0
        self._truncated = False

    def feed(self, stream: str, data: bytes) -> None:
        text = self._partial[stream] + data
        *lines, rest = text.split(b"\n")
        for line in lines:
            self._line(stream, line)
        # a line with no end in sight: logged in pieces, never cut inside a secret (each
        # piece is masked alone), and only once what follows a cut is there to see
        while len(rest) > LONGEST_LINE + self._redact.longest:
            cut = self._redact.safe_cut(rest, LONGEST_LINE)
            self._line(stream, rest[:cut])
            rest = rest[cut:]
        self._partial[stream] = rest

    def activation_ended(self) -> None:
        """The output so far belongs to the activation that ended: a fresh budget."""
        self.flush()
        self._used = 0
        self._truncated = False

    def flush(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self._line(stream, rest)
            self._partial[stream] = b""

    def _line(self, stream: str, line: bytes) -> None:
        self._used += len(line) + 1
        if self._used > self._limit:
            if not self._truncated:
                self._truncated = True
                log.warning("%s %s: the activation's logs passed the %d-byte limit; the rest "
                            "is dropped (raise it with #--logsize MB)", self._label(), stream,
                            self._limit)
                if self._note is not None:  # as OpenWhisk ends a record's truncated logs
                    self._note(stream, f"Logs were truncated because the total bytes size "
                                       f"exceeds the limit of {self._limit} bytes.")
            return
        text = self._redact(line.decode("utf-8", "replace").rstrip("\r"))
        log.info("%s %s: %s", self._label(), stream, text)
        if self._note is not None:
            self._note(stream, text)
