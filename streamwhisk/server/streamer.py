"""The streamer's HTTP side: relay events as NDJSON, or as SSE when the client asks for it.

Both framings carry the same objects, one complete message each. SSE is written directly
(`data: <json>` and a blank line) because a JSON document dumped without indentation is one
line, so an event is always exactly one `data:` field; a keep-alive is a comment in SSE and
an empty line in NDJSON.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from ..stream import Message, StreamSession

# Ask every proxy on the way not to hold messages back.
UNBUFFERED = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class Framing:
    media_type: str
    prefix: bytes
    suffix: bytes
    keepalive: bytes

    def encode(self, message: Message) -> bytes:
        return self.prefix + json.dumps(message, ensure_ascii=False).encode() + self.suffix


NDJSON = Framing("application/x-ndjson", b"", b"\n", b"\n")
SSE = Framing("text/event-stream", b"data: ", b"\n\n", b": keep-alive\n\n")


def framing_for(accept: str) -> Framing:
    return SSE if SSE.media_type in accept.lower() else NDJSON


def stream_response(session: StreamSession, accept: str) -> StreamingResponse:
    framing = framing_for(accept)
    # When the client is gone before the body starts, the generator never runs: the
    # background task still releases the relay.
    return StreamingResponse(_framed(session.batches(), framing), media_type=framing.media_type,
                             headers=UNBUFFERED, background=BackgroundTask(session.close))


async def _framed(batches: AsyncIterator[list[Message]],
                  framing: Framing) -> AsyncIterator[bytes]:
    """One write per batch of messages that arrived together: the per-write cost of the HTTP
    layer is paid once per batch, not per message."""
    async for batch in batches:
        yield b"".join(map(framing.encode, batch)) if batch else framing.keepalive
