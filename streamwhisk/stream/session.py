"""A streaming invocation: start the action with a relay port, yield what it sends, then `done`.

Events are dicts, one complete message each, ending with `{"done": true, "result": ...}` or
`{"done": true, "error": ...}`; `None` marks a quiet spell (the HTTP layer sends a keep-alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RuntimeFailure
from ..runtime.activation import Activation
from .decoder import MAX_MESSAGE_BYTES, Message
from .relay import Relay

Start = Callable[[dict[str, Any]], Awaitable[Activation]]


@dataclass(frozen=True)
class StreamSettings:
    host: str = "127.0.0.1"
    keepalive_s: float = 15.0
    # After the action returned, how long its socket may stay open before we stop reading: an
    # action that forgot to close it would otherwise hold the stream open for ever.
    close_grace_s: float = 1.0
    max_message_bytes: int = MAX_MESSAGE_BYTES


class StreamSession:
    def __init__(self, relay: Relay, activation: Activation, settings: StreamSettings) -> None:
        self.relay = relay
        self.activation = activation
        self.settings = settings

    @classmethod
    async def open(cls, start: Start, args: dict[str, Any],
                   settings: StreamSettings | None = None) -> StreamSession:
        """Listen, then start the activation; errors before the stream begins are raised."""
        settings = settings or StreamSettings()
        relay = Relay(settings.host, settings.max_message_bytes)
        try:
            activation = await start({**args, **relay.arguments()})
        except BaseException:
            relay.close()
            raise
        return cls(relay, activation, settings)

    def close(self) -> None:
        self.relay.close()

    async def events(self) -> AsyncIterator[Message | None]:
        try:
            async for event in self._relayed():
                yield event
            yield outcome(self.activation)
        finally:
            self.close()

    async def _relayed(self) -> AsyncIterator[Message | None]:
        relay, result, owner = self.relay, self.activation.result, self.activation.stream_sources
        accepting: asyncio.Future[None] | None = asyncio.ensure_future(relay.accept(owner))
        receiving: asyncio.Future[list[Message]] | None = None
        grace_ends: float | None = None
        try:
            while True:
                if result.done() and grace_ends is None:
                    if accepting is not None:
                        # settle the pending accept before touching the listener ourselves
                        accepting.cancel()
                        await asyncio.gather(accepting, return_exceptions=True)
                        accepting = None
                        if relay.connected or relay.accept_waiting(owner):
                            receiving = asyncio.ensure_future(relay.receive())
                    if receiving is None:
                        return  # it never connected, or its stream has ended
                    grace_ends = time.monotonic() + self.settings.close_grace_s
                waiting: set[asyncio.Future[Any]] = {t for t in (accepting, receiving) if t}
                timeout = self.settings.keepalive_s
                if grace_ends is None:
                    waiting.add(result)
                else:
                    timeout = min(timeout, grace_ends - time.monotonic())
                    if timeout <= 0:
                        return
                done, _ = await asyncio.wait(waiting, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    if grace_ends is None:
                        yield None
                    continue
                if accepting is not None and accepting.done():
                    accepting.result()
                    accepting = None
                    receiving = asyncio.ensure_future(relay.receive())
                elif receiving is not None and receiving.done():
                    for message in receiving.result():
                        yield message
                    receiving = None if relay.ended else asyncio.ensure_future(relay.receive())
                    if receiving is None and grace_ends is not None:
                        return
        finally:
            for task in (accepting, receiving):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task


def outcome(activation: Activation) -> Message:
    """The last event: the action's return value, or why there is none."""
    try:
        value = activation.result.result()
    except RuntimeFailure as exc:
        return {"done": True, "error": str(exc)}
    if "error" in value:
        error = value["error"]
        return {"done": True, "error": error if isinstance(error, str) else json.dumps(error)}
    return {"done": True, "result": value}
