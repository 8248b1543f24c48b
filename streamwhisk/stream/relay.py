"""One streaming invocation's listening socket on 127.0.0.1, and the one connection it keeps.

Accepting happens synchronously, in the listener's reader callback or on demand, never in a
task that could be cancelled between the kernel handing a connection over and our code
holding it. The ownership rule (`ownership.py`) picks the activation's own connection;
strangers are reset and do not use up the slot.

The kept connection becomes an asyncio transport whose protocol (`Inbound`) feeds the
decoder. Backpressure: once `high_water` bytes wait for the client, reading pauses, so the
kernel's buffers fill and the action's `sendall` blocks; a slow client slows the action and
the server holds at most `high_water`, one read and one unfinished message per stream.
Closing aborts the connection with a reset, so the action's next send fails at once instead
of filling a buffer nobody reads: that is how a stop reaches the action.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import deque
from typing import Any

from .decoder import MAX_MESSAGE_BYTES, Message, MessageDecoder
from .ownership import Ownership

log = logging.getLogger("streamwhisk.stream")

HIGH_WATER = 256 * 1024
# How long a connection nobody announced may wait for an announcement before it is refused.
# The owner's own announcement is written before it connects, so it never waits this long.
VERIFY_TIMEOUT_S = 5.0
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST


class Inbound(asyncio.Protocol):
    """The activation's connection: decoded messages wait here until the client takes them."""

    def __init__(self, max_message_bytes: int, high_water: int) -> None:
        self.ended = False
        self._decoder = MessageDecoder(max_message_bytes)
        self._high_water = high_water
        self._messages: list[Message] = []
        self._waiting_bytes = 0
        self._paused = False
        self._arrived = asyncio.Event()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._messages += self._decoder.feed(data)
        self._waiting_bytes += len(data)
        if not self._messages:
            return  # an unfinished message: the decoder bounds what it holds
        self._arrived.set()
        if self._waiting_bytes >= self._high_water and not self._paused:
            assert self._transport is not None
            self._transport.pause_reading()
            self._paused = True

    def eof_received(self) -> bool:
        return False  # nothing to say back: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._messages += self._decoder.close()
        if exc is not None:
            reason = getattr(exc, "strerror", None) or str(exc)
            self._messages.append({"error": f"the action's stream connection failed: {reason}"})
        self.ended = True
        self._arrived.set()

    def take(self) -> list[Message]:
        """Every message that has arrived; reading resumes if it was paused."""
        messages, self._messages = self._messages, []
        self._waiting_bytes = 0
        if not self.ended:
            self._arrived.clear()
            if self._paused and self._transport is not None:
                self._paused = False
                self._transport.resume_reading()
        return messages

    async def arrival(self) -> None:
        """Until a message or the end arrives."""
        await self._arrived.wait()

    def abort(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        sock = self._transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self._transport.abort()


class Relay:
    def __init__(self, ownership: Ownership, host: str = "127.0.0.1",
                 max_message_bytes: int = MAX_MESSAGE_BYTES, high_water: int = HIGH_WATER) -> None:
        self.host = host
        self.inbound: Inbound | None = None
        self._ownership = ownership
        self._max_message_bytes = max_message_bytes
        self._high_water = high_water
        self._kept: socket.socket | None = None
        self._candidates: deque[tuple[socket.socket, int, float]] = deque()  # sock, port, since
        self._arrived = asyncio.Event()
        self._listener: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, 0))
            self._listener.listen(8)
            self._listener.setblocking(False)
            asyncio.get_running_loop().add_reader(self._listener.fileno(), self._accept_queued)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]

    def arguments(self) -> dict[str, str]:
        """What the action needs to connect, as OpenServerless passes it: strings."""
        return {"STREAM_HOST": self.host, "STREAM_PORT": str(self.port)}

    async def accept(self) -> None:
        """Until the owner's connection is kept; strangers are reset and the wait goes on."""
        while not self._judge(final=False):
            self._arrived.clear()
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._arrived.wait())]
            timeout = None
            if self._candidates:
                waits.append(asyncio.ensure_future(self._ownership.next_change().wait()))
                timeout = max(0.0, self._candidates[0][2] + VERIFY_TIMEOUT_S - time.monotonic())
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()

    def accept_now(self) -> bool:
        """Without waiting: is the owner's connection here? For when the activation has
        ended: every announcement is in, so an unannounced connection is a stranger."""
        self._accept_queued()
        return self._judge(final=True)

    async def open(self) -> Inbound:
        """The kept connection as a transport feeding an `Inbound`."""
        assert self._kept is not None, "accept() first"
        loop = asyncio.get_running_loop()
        _, inbound = await loop.connect_accepted_socket(
            lambda: Inbound(self._max_message_bytes, self._high_water), self._kept)
        self._kept = None
        self.inbound = inbound
        return inbound

    def close(self) -> None:
        """Release the port and reset the connection, which tells the action to stop."""
        self._close_listener()
        if self._kept is not None:
            _reset(self._kept)
            self._kept = None
        if self.inbound is not None:
            self.inbound.abort()

    def _accept_queued(self) -> None:
        while self._listener is not None:
            try:
                connection, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: refuse this one, keep serving
                log.warning("could not accept a stream connection: %s", exc)
                return
            self._candidates.append((connection, peer[1], time.monotonic()))
            self._arrived.set()

    def _judge(self, final: bool) -> bool:
        """Keep the owner's connection and reset strangers; True once the owner's is kept."""
        while self._candidates and self._kept is None and self.inbound is None:
            connection, port, since = self._candidates[0]
            owned = self._ownership.verdict(port)
            if owned is None:
                if not final and time.monotonic() - since < VERIFY_TIMEOUT_S:
                    return False  # its announcement may still be on the way
                owned = False
            self._candidates.popleft()
            if owned:
                self._kept = connection
                self._close_listener()  # one connection per invocation
            else:
                log.warning("refused a connection to stream port %s from 127.0.0.1:%s: not "
                            "the activation's own", self.port, port)
                _reset(connection)
        return self._kept is not None

    def _close_listener(self) -> None:
        while self._candidates:
            _reset(self._candidates.popleft()[0])
        if self._listener is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None


def _reset(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    connection.close()
