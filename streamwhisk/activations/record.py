"""One activation's record, in OpenWhisk's shape (`WhiskActivation`, as `wsk activation get`
prints it), from what was captured while it ran (`Captured`).

What the event loop captures is cheap (references, clocks, counts); the record is built, and
its secrets masked, off the loop, by the journal's writer.

    {"activationId", "namespace", "name", "version", "subject", "publish",
     "start", "end", "duration",                      epoch ms
     "response": {"status", "statusCode", "success", "result"},
     "logs": ["2026-12-02T04:30:00.123456789Z stdout: a line", ...],
     "annotations": [{"key": "path"|"kind"|"limits"|"waitTime"|"initTime"|"timeout"
                      |"stream"|"replayOf"|"previous", "value": ...}],
     "trace": {"args", "parameters", "stream": [{"at", "message"}], "streamTruncated"}}

`trace` is streamwhisk's own: the arguments the caller gave (for a replay), the names of the
`#--param` values (never their values), and each streamed message with its time (ms after
the start). OpenWhisk's clients pass an unknown field through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import (
    ActionCrashed,
    ActionTimedOut,
    RuntimeFailure,
    RuntimePreparing,
    RuntimeUnavailable,
)
from ..names import DEFAULT_PACKAGE

# OpenWhisk's four outcomes: ActivationResponse's status and statusCode
SUCCESS, APPLICATION_ERROR, DEVELOPER_ERROR, WHISK_ERROR = 0, 1, 2, 3
STATUS = {SUCCESS: "success", APPLICATION_ERROR: "application error",
          DEVELOPER_ERROR: "action developer error", WHISK_ERROR: "whisk internal error"}
MAX_TRACED_MESSAGES = 5_000  # a longer stream keeps its count, and its first messages
VERSION = "0.0.1"


@dataclass
class Captured:
    """What the server notes while an activation runs; `record()` makes its record."""

    activation_id: str
    namespace: str
    package: str
    name: str
    kind: str
    limits: dict[str, int]
    args: dict[str, Any]
    parameters: list[str]
    created_ms: int  # when it was asked for (epoch ms)
    created: float  # the same moment on the monotonic clock
    replay_of: str | None = None
    previous: str | None = None
    handed: float | None = None  # monotonic: when a worker took it
    init_ms: int | None = None  # the cold start it waited for
    ended: float | None = None
    result: dict[str, Any] | None = None
    failure: BaseException | None = None
    logs: list[str] = field(default_factory=list)
    streamed: list[tuple[float, dict[str, Any]]] | None = None  # (monotonic, message)
    stream_count: int = 0

    def log_line(self, stream: str, text: str) -> None:
        self.logs.append(f"{_rfc3339_ns(time.time_ns())} {stream}: {text}")

    def message(self, message: dict[str, Any]) -> None:
        """A message the action streamed (not the relay's `done`)."""
        if self.streamed is None:
            self.streamed = []
        self.stream_count += 1
        if len(self.streamed) < MAX_TRACED_MESSAGES:
            self.streamed.append((time.monotonic(), message))

    def record(self, mask: Callable[[str], str]) -> dict[str, Any]:
        """The OpenWhisk record, every text masked with `mask` (the server's redactor)."""
        handed = self.handed if self.handed is not None else self.created
        ended = self.ended if self.ended is not None else time.monotonic()
        # as OpenWhisk counts a cold start: its init is in the duration, not the wait
        began = max(self.created, handed - (self.init_ms or 0) / 1000)
        start = self.created_ms + round((began - self.created) * 1000)
        end = self.created_ms + round((ended - self.created) * 1000)
        code, result = self._outcome()
        annotations: list[dict[str, Any]] = [
            {"key": "path", "value": f"{self.namespace}/{self.package}/{self.name}"},
            {"key": "waitTime", "value": start - self.created_ms},
            {"key": "kind", "value": self.kind},
            {"key": "timeout", "value": isinstance(self.failure, ActionTimedOut)},
            {"key": "limits", "value": self.limits},
        ]
        if self.init_ms is not None:
            annotations.append({"key": "initTime", "value": self.init_ms})
        trace: dict[str, Any] = {"args": self.args, "parameters": self.parameters}
        if self.streamed is not None:
            first = (round((self.streamed[0][0] - handed) * 1000)
                     if self.streamed else None)
            annotations.append({"key": "stream", "value": {
                "messages": self.stream_count, "firstMessageMs": first}})
            trace["stream"] = [{"at": round((at - handed) * 1000, 1), "message": message}
                               for at, message in self.streamed]
            trace["streamTruncated"] = self.stream_count > len(self.streamed)
        for key, value in (("replayOf", self.replay_of), ("previous", self.previous)):
            if value:
                annotations.append({"key": key, "value": value})
        record = {
            "activationId": self.activation_id, "namespace": self._where(),
            "name": self.name, "version": VERSION, "subject": self.namespace,
            "publish": False, "start": start, "end": end, "duration": end - start,
            "response": {"status": STATUS[code], "statusCode": code,
                         "success": code == SUCCESS, "result": result},
            "logs": self.logs, "annotations": annotations, "trace": trace,
        }
        masked: dict[str, Any] = json.loads(mask(json.dumps(record, ensure_ascii=False,
                                                          default=str)))
        return masked

    def _where(self) -> str:
        """Where OpenWhisk says the action is: `ns/package`, or `ns` in the default one."""
        return (self.namespace if self.package == DEFAULT_PACKAGE
                else f"{self.namespace}/{self.package}")

    def _outcome(self) -> tuple[int, dict[str, Any]]:
        failure = self.failure
        if failure is None:
            result = self.result if self.result is not None else {}
            return (APPLICATION_ERROR if "error" in result else SUCCESS), result
        if isinstance(failure, ActionCrashed | ActionTimedOut):
            return DEVELOPER_ERROR, {"error": str(failure)}
        if isinstance(failure, RuntimeUnavailable | RuntimePreparing | RuntimeFailure):
            return WHISK_ERROR, {"error": str(failure)}
        return WHISK_ERROR, {"error": f"The activation failed inside the server "
                                      f"({type(failure).__name__})."}


def _rfc3339_ns(ns: int) -> str:
    """A log line's time, as OpenWhisk writes it: RFC 3339, UTC, to the nanosecond.

    >>> _rfc3339_ns(1_764_650_000_123_456_789)
    '2025-12-02T04:33:20.123456789Z'
    """
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"
