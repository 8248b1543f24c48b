"""The stream's schema, its one home: the argument names that hand an action its stream, and
the messages a client reads.

    action -> relay     JSON objects, glued or one per line; the known keys:
                          output    a text delta          thinking  a reasoning delta
                          state     kept, sent back        error     a problem, the stream goes on
    relay -> client     one object per line (NDJSON) or per SSE `data:` event, the same
                        objects, then last `{"done": true, "result": ...}` or
                        `{"done": true, "error": "..."}`; `done` is the relay's alone.

The relay, the action loop (standard library only: this module imports nothing), the CLI's
printer and the test helpers import it; the page (`web/static/stream.js`) mirrors its
constants, and says so.
"""

from __future__ import annotations

from typing import Any

# what only the streamer may give an action: where its stream goes
STREAM_HOST = "STREAM_HOST"
STREAM_PORT = "STREAM_PORT"
RESERVED_ARGUMENTS = (STREAM_HOST, STREAM_PORT)

OUTPUT = "output"
THINKING = "thinking"
STATE = "state"
ERROR = "error"
DONE = "done"
RESULT = "result"
RESERVED_KEYS = (DONE,)  # an action's message may not carry them


def done_with_result(result: dict[str, Any]) -> dict[str, Any]:
    return {DONE: True, RESULT: result}


def done_with_error(error: str) -> dict[str, Any]:
    return {DONE: True, ERROR: error}


def error_message(error: str) -> dict[str, Any]:
    """A problem in the middle of the stream (garbage from the action, say); it goes on."""
    return {ERROR: error}
