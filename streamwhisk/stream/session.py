"""A streaming invocation: start the action with a relay port, relay what it sends, then `done`.

The end of a stream is decided here, in `batches()`, in three steps:

  1. Wait for the activation's own connection, or for the activation to end without one
     (then a connection already queued is taken: its announcement came before the result).
  2. Relay every message until that connection ends: EOF or an error. The action loop
     shuts down a stream socket the action left open when its activation ends, so EOF
     follows the last byte; every byte is relayed, whatever the speeds. Only a socket held
     open by a process out of our reach, silent for `close_grace_s` after the activation
     ended, ends the relay without EOF.
  3. Wait for the activation's outcome and send it as the `done` message.

`close()` (the client went away) ends it at any step, with no `done`: nobody would read it.
`batches()` yields batches of complete messages; an empty one marks a quiet spell (the HTTP
layer sends a keep-alive). The last holds one message, `{"done": true, "result" | "error"}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import RuntimeFailure
from .decoder import MAX_MESSAGE_BYTES, Batch, Message
from .ownership import Announced, FirstComer
from .relay import HIGH_WATER, Inbound, Relay
from .schema import done_with_error, done_with_result

log = logging.getLogger("streamwhisk.stream")


class Streamed(Protocol):
    """What the relay needs of an activation: its outcome, as a future."""

    @property
    def result(self) -> asyncio.Future[dict[str, Any]]: ...


# start(the relay's STREAM_HOST/STREAM_PORT, a callback for each announced source port)
Start = Callable[[dict[str, str], Callable[[int], None]], Awaitable[Streamed]]


@dataclass(frozen=True)
class StreamSettings:
    host: str = "127.0.0.1"  # where relays listen
    advertise: str = ""  # the STREAM_HOST actions are given, when not `host`
    keepalive_s: float = 15.0
    # After the activation ended, how long a still-open, silent stream socket is waited for.
    close_grace_s: float = 1.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    high_water: int = HIGH_WATER


class StreamSession:
    def __init__(self, relay: Relay, activation: Streamed, settings: StreamSettings,
                 redact: Callable[[str], str] | None = None) -> None:
        self.relay = relay
        self.activation = activation
        self.settings = settings
        self._redact = redact
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_messages: Callable[[Batch], None] | None = None
        self._on_end: Callable[[], None] | None = None

    def watch(self, on_messages: Callable[[Batch], None], on_end: Callable[[], None]) -> None:
        """Tell `on_messages` each batch of messages relayed before `done` (as the client
        gets them), and `on_end` once, when the stream ends however it ends (for the
        activation's record)."""
        self._on_messages, self._on_end = on_messages, on_end

    @classmethod
    async def open(cls, start: Start, settings: StreamSettings | None = None,
                   first_comer: bool = False,
                   redact: Callable[[str], str] | None = None) -> StreamSession:
        """Listen, then start the activation; errors before the stream begins are raised.
        With `first_comer`, the first connection is the activation's (nothing announces it).
        `redact` masks secrets in the messages the relay writes itself (the excerpts of
        malformed data, the outcome): what the action sends as JSON passes as it is."""
        settings = settings or StreamSettings()
        announced = Announced()
        relay = Relay(FirstComer() if first_comer else announced, settings.host,
                      settings.max_message_bytes, settings.high_water, settings.advertise)
        try:
            activation = await start(relay.arguments(), announced.announce)
        except BaseException:
            relay.close()
            raise
        return cls(relay, activation, settings, redact)

    def close(self) -> None:
        """The client is gone: reset the action's connection and end the stream."""
        self.relay.close()
        if not self._closed.done():
            self._closed.set_result(None)
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end()

    async def batches(self) -> AsyncIterator[Batch]:
        """The stream's end in three steps; an empty batch is a quiet spell (keep-alive)."""
        result, closed = self.activation.result, self._closed
        try:
            # 1. the owner's connection, or the activation's end
            owned = self.relay.owned
            while not await _first_of([owned, result, closed], self.settings.keepalive_s):
                yield Batch()
            if closed.done():
                return
            inbound = owned.result() if owned.done() else self.relay.accept_now()
            # 2. every message, until the connection ends
            if inbound is not None:
                async for batch in self._relayed(inbound, result):
                    yield batch
            # 3. the outcome
            while not await _first_of([result, closed], self.settings.keepalive_s):
                yield Batch()
            if not closed.done():
                yield self._masked(Batch([outcome(result)], [None]))
        finally:
            self.close()

    async def _relayed(self, inbound: Inbound, result: asyncio.Future[Any]
                       ) -> AsyncIterator[Batch]:
        """What the action sends, until its connection ends (or goes quiet once it ended)."""
        while True:
            batch = inbound.take()
            if batch:
                batch = self._masked(batch)
                if self._on_messages is not None:
                    self._on_messages(batch)
                yield batch
            elif inbound.ended:
                return
            elif not result.done():
                arrived = await inbound.arrival(self.settings.keepalive_s, also=result)
                if not arrived and not result.done():
                    yield Batch()  # a quiet spell: keep the client's connection alive
            elif not await inbound.arrival(self.settings.close_grace_s):
                log.warning("stream port %s: the activation ended but its stream socket "
                            "stayed open and silent; ending the stream", self.relay.port)
                return

    def _masked(self, batch: Batch) -> Batch:
        """The relay's own messages (text None) with secrets masked."""
        if self._redact is None or all(text is not None for text in batch.texts):
            return batch
        redact = self._redact
        batch.messages = [
            json.loads(redact(json.dumps(m, ensure_ascii=False))) if text is None else m
            for m, text in zip(batch.messages, batch.texts, strict=True)]
        return batch

    async def events(self) -> AsyncIterator[Message | None]:
        """One message at a time; `None` for a quiet spell."""
        async for batch in self.batches():
            if not batch:
                yield None
            for message in batch.messages:
                yield message


async def _first_of(futures: list[asyncio.Future[Any]], within_s: float) -> bool:
    """Until one of them completes (True) or `within_s` passes (False)."""
    done, _ = await asyncio.wait(futures, timeout=within_s,
                                 return_when=asyncio.FIRST_COMPLETED)
    return bool(done)


def outcome(result: asyncio.Future[dict[str, Any]]) -> Message:
    """The last message: the action's return value, or why there is none."""
    try:
        value = result.result()
    except RuntimeFailure as exc:
        return done_with_error(str(exc))
    if "error" in value:
        error = value["error"]
        return done_with_error(error if isinstance(error, str) else json.dumps(error))
    return done_with_result(value)
