"""The streamer's HTTP side: relay a session's messages as NDJSON, or as SSE when asked.

Both framings carry the same objects, one complete message each. SSE is written directly
(`data: <json>` and a blank line) because a JSON document dumped without indentation is one
line, so an event is always exactly one `data:` field; a keep-alive is a comment in SSE and
an empty line in NDJSON.

`RelayResponse` has the shape of Starlette's StreamingResponse, one send loop and one
disconnect listener, without its task group (which cost a few hundred microseconds before
the first message). A slow client makes `send` wait, and so the session, and so the action:
that is the backpressure. A client that goes away closes the session, which resets the
action's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from ..stream import Batch, Message, StreamSession

# Ask every proxy on the way not to hold messages back.
UNBUFFERED = {"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"}


@dataclass(frozen=True)
class Framing:
    media_type: str
    prefix: str
    suffix: str
    keepalive: bytes

    def encode(self, batch: Batch) -> bytes:
        """The batch's messages framed, each as the action's own text when that is one line
        (no second encoding), else encoded again."""
        if not batch:
            return self.keepalive
        lines = [text if text is not None and "\n" not in text and "\r" not in text
                 else _one_line(message) for message, text in zip(batch.messages, batch.texts,
                                                                   strict=True)]
        return (self.prefix + (self.suffix + self.prefix).join(lines) + self.suffix).encode()


def _one_line(message: Message) -> str:
    try:
        text = json.dumps(message, ensure_ascii=False)
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
        text = json.dumps(message)
    return text


NDJSON = Framing("application/x-ndjson", "", "\n", b"\n")
SSE = Framing("text/event-stream", "data: ", "\n\n", b": keep-alive\n\n")


def framing_for(accept: str) -> Framing:
    return SSE if SSE.media_type in accept.lower() else NDJSON


class RelayResponse:
    def __init__(self, session: StreamSession, accept: str,
                 headers: dict[str, str] | None = None,
                 on_end: Callable[[], None] | None = None) -> None:
        self.session = session
        self.framing = framing_for(accept)
        self.headers = headers or {}
        self.on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", self.framing.media_type.encode()),
                   *((k.encode(), v.encode()) for k, v in {**UNBUFFERED, **self.headers}.items())]
        listener = asyncio.ensure_future(self._close_on_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            # one write per batch of messages that arrived together: the HTTP layer's cost
            # is paid per batch, not per message
            async for batch in self.session.batches():
                body = self.framing.encode(batch)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            self.session.close()
            if self.on_end is not None:
                self.on_end()

    async def _close_on_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.session.close()
