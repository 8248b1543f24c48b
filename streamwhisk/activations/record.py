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

import asyncio
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..config import is_secret_name
from ..errors import (
    ActionCrashed,
    ActionTimedOut,
    Overloaded,
    RuntimeFailure,
)
from ..names import DEFAULT_PACKAGE
from ..project import DEFAULT_KIND
from ..redact import MASK

if TYPE_CHECKING:
    from ..project import ActionSpec
    from ..runtime.activation import Activation
    from ..stream.decoder import Batch

# OpenWhisk's four outcomes: ActivationResponse's status and statusCode
SUCCESS, APPLICATION_ERROR, DEVELOPER_ERROR, WHISK_ERROR = 0, 1, 2, 3
STATUS = {SUCCESS: "success", APPLICATION_ERROR: "application error",
          DEVELOPER_ERROR: "action developer error", WHISK_ERROR: "whisk internal error"}
# a longer stream keeps its count and its first messages (a chat turn is rarely longer; a
# record of many more held the GIL long enough, as it was written, to delay other streams)
MAX_TRACED_MESSAGES = 2_000
VERSION = "0.0.1"
STREAM_SLOT = "\u0000streamwhisk: the streamed messages\u0000"


class Captured:
    """What the server notes while an activation runs (its action and the caller's
    arguments by reference, no copies): the record is made from it later, off the event loop.
    `journal` is told once the activation has ended and, when `streamed`, its stream too."""

    __slots__ = (
        "_journal", "_parts", "_stream_open", "activation_id", "args", "created", "ended",
        "failure", "handed", "init_ms", "is_stream", "logs", "namespace", "previous",
        "replay_of", "result", "spec", "started", "stream_count", "streamed"
    )

    def __init__(self, activation: Activation, spec: ActionSpec, args: dict[str, Any],
                 namespace: str, journal: Sink, streamed: bool = False,
                 replay_of: str | None = None, previous: str | None = None) -> None:
        # the activation's own facts, not the activation: it points here (its `captured`),
        # and a cycle would leave every activation to the garbage collector
        self.activation_id, self.started = activation.activation_id, activation.started
        self.created: float = activation.created
        self.handed: float | None = None  # when a worker took it (monotonic)
        self.init_ms: int | None = None  # the cold start it waited for
        self.spec, self.args = spec, args
        self.namespace, self.replay_of, self.previous = namespace, replay_of, previous
        self.ended: float | None = None
        self.result: dict[str, Any] | None = None
        self.failure: BaseException | None = None
        self.logs: list[str] = []
        # (monotonic, the texts of the messages relayed then), while fewer than the most kept
        self.streamed: list[tuple[float, list[str]]] | None = None
        self.stream_count = 0
        self.is_stream = streamed  # its stream is relayed here
        self._parts = 2 if streamed else 1  # the outcome, and the stream's end
        self._stream_open = streamed
        self._journal = journal

    def log_line(self, stream: str, text: str) -> None:
        self.logs.append(f"{_rfc3339_ns(time.time_ns())} {stream}: {text}")

    def messages(self, batch: Batch) -> None:
        """Messages the action streamed (not the relay's `done`), as they are relayed: a
        batch at a time, its time noted once (per message, it cost a fast stream 10%). Only
        their JSON texts are kept, as the action sent them: texts are no work for the garbage
        collector (kept as dicts, a stream's messages lengthened its pauses for every other
        stream) and the record is written without encoding them again."""
        if self.streamed is None:
            self.streamed = []
        if self.stream_count < MAX_TRACED_MESSAGES:
            texts = batch.texts
            if None in texts:  # the relay's own (an error it made): encoded now
                texts = [text if text is not None else json.dumps(message, ensure_ascii=False)
                         for message, text in zip(batch.messages, texts, strict=True)]
            self.streamed.append((time.monotonic(), cast("list[str]", texts)))
        self.stream_count += len(batch)

    def result_done(self, activation: Activation,
                    result: asyncio.Future[dict[str, Any]]) -> None:
        """The activation's outcome (a done callback of its result)."""
        if isinstance(result.exception() if not result.cancelled() else None, Overloaded):
            return  # OpenWhisk records no throttled activation
        self.note_outcome(activation)
        self._part_done()

    def note_outcome(self, activation: Activation) -> None:
        """Its outcome, from its settled result (once: a blocking invoke may ask for the
        record before the done callbacks have run)."""
        if self.ended is not None:
            return
        self.ended = time.monotonic()
        self.handed, self.init_ms = activation.handed, activation.init_ms
        result = activation.result
        if result.cancelled():
            self.failure = asyncio.CancelledError()
        elif (failure := result.exception()) is not None:
            self.failure = failure
        else:
            self.result = result.result()

    def stream_done(self) -> None:
        """Its stream has ended (however it ended); once."""
        if self._stream_open:
            self._stream_open = False
            self._part_done()

    def _part_done(self) -> None:
        self._parts -= 1
        if self._parts == 0:
            self._journal.add(self)

    def record_text(self, mask: Callable[[str], str]) -> str:
        """The record's JSON, every secret masked with `mask` (the server's redactor)."""
        record = self._record()
        text = json.dumps(record, ensure_ascii=False, default=str)
        if self.is_stream:  # the streamed messages' own texts, spliced in as they came
            text = text.replace(json.dumps(STREAM_SLOT), self._stream_json(), 1)
        return mask(text)

    def record(self, mask: Callable[[str], str]) -> dict[str, Any]:
        masked: dict[str, Any] = json.loads(self.record_text(mask))
        return masked

    def start_ms(self) -> int:
        """When it started (epoch ms), as OpenWhisk counts a cold start: its init is in the
        duration, not in the wait."""
        created = self.created
        handed = self.handed if self.handed is not None else created
        began = max(created, handed - (self.init_ms or 0) / 1000)
        return int(self.started * 1000) + round((began - created) * 1000)

    def _record(self) -> dict[str, Any]:
        spec = self.spec
        created, created_ms = self.created, int(self.started * 1000)
        handed = self.handed if self.handed is not None else created
        ended = self.ended if self.ended is not None else time.monotonic()
        start = self.start_ms()
        end = created_ms + round((ended - created) * 1000)
        code, result = self._outcome()
        annotations: list[dict[str, Any]] = [
            {"key": "path", "value": f"{self.namespace}/{spec.package}/{spec.name}"},
            {"key": "waitTime", "value": start - created_ms},
            {"key": "kind", "value": spec.annotations.kind or DEFAULT_KIND},
            {"key": "timeout", "value": isinstance(self.failure, ActionTimedOut)},
            {"key": "limits", "value": spec.limits.as_openwhisk()},
        ]
        if self.init_ms is not None:
            annotations.append({"key": "initTime", "value": self.init_ms})
        trace: dict[str, Any] = {"args": without_credentials(self.args),
                                 "parameters": sorted(spec.params)}
        if self.is_stream:
            first = (round((self.streamed[0][0] - handed) * 1000) if self.streamed else None)
            annotations.append({"key": "stream", "value": {
                "messages": self.stream_count, "firstMessageMs": first}})
            trace["stream"] = STREAM_SLOT  # `record_text` puts the messages there
            trace["streamTruncated"] = self.stream_count > MAX_TRACED_MESSAGES
        for key, value in (("replayOf", self.replay_of), ("previous", self.previous)):
            if value:
                annotations.append({"key": key, "value": value})
        return {
            "activationId": self.activation_id, "namespace": self._where(),
            "name": spec.name, "version": VERSION, "subject": self.namespace,
            "publish": False, "start": start, "end": end, "duration": end - start,
            "response": {"status": STATUS[code], "statusCode": code,
                         "success": code == SUCCESS, "result": result},
            "logs": self.logs, "annotations": annotations, "trace": trace,
        }

    def _stream_json(self) -> str:
        """`[{"at": ms, "message": {...}}, ...]`, each message's text as the action sent it."""
        handed = self.handed if self.handed is not None else self.created
        items: list[str] = []
        for at, texts in self.streamed or []:
            since = round((at - handed) * 1000, 1)
            for text in texts[:MAX_TRACED_MESSAGES - len(items)]:
                items.append(f'{{"at": {since}, "message": {text}}}')
        return "[" + ", ".join(items) + "]"

    def _where(self) -> str:
        """Where OpenWhisk says the action is: `ns/package`, or `ns` in the default one."""
        return (self.namespace if self.spec.package == DEFAULT_PACKAGE
                else f"{self.namespace}/{self.spec.package}")

    def _outcome(self) -> tuple[int, dict[str, Any]]:
        failure = self.failure
        if failure is None:
            result = self.result if self.result is not None else {}
            return (APPLICATION_ERROR if "error" in result else SUCCESS), result
        if isinstance(failure, ActionCrashed | ActionTimedOut):
            return DEVELOPER_ERROR, {"error": str(failure)}
        if isinstance(failure, RuntimeFailure):  # its runtime unavailable, still preparing
            return WHISK_ERROR, {"error": str(failure)}
        return WHISK_ERROR, {"error": f"The activation failed inside the server "
                                      f"({type(failure).__name__})."}


class Sink(Protocol):
    """Where a finished capture goes (`journal.Journal`)."""

    def add(self, captured: Captured) -> None: ...


CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def without_credentials(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments, the caller's credentials masked: a secret-named argument (a login's
    `token`, a `password`), a web request's Authorization and cookies. A replay is given
    them again (the page adds its own; the CLI with -p)."""
    kept = {key: MASK if isinstance(value, str) and is_secret_name(key) else value
            for key, value in args.items()}
    headers = args.get("__ow_headers")
    if isinstance(headers, dict) and CREDENTIAL_HEADERS & set(headers):
        kept["__ow_headers"] = {k: MASK if k in CREDENTIAL_HEADERS else v
                                for k, v in headers.items()}
    return kept


def _rfc3339_ns(ns: int) -> str:
    """A log line's time, as OpenWhisk writes it: RFC 3339, UTC, to the nanosecond.

    >>> _rfc3339_ns(1_764_650_000_123_456_789)
    '2025-12-02T04:33:20.123456789Z'
    """
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"
