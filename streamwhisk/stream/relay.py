"""One invocation's listening socket on 127.0.0.1 and the one connection it keeps.

Any local process can connect to 127.0.0.1, so the relay keeps only the connection whose
source port the activation's worker announced before connecting (see the launcher's
StreamWatch); strangers are reset and do not use up the slot. Closing aborts the connection
with a reset, so the action's next send fails at once instead of filling a buffer nobody
reads: that is how a stop reaches the action.
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

from ..runtime.activation import StreamSources
from .decoder import MAX_MESSAGE_BYTES, Message, MessageDecoder

log = logging.getLogger("streamwhisk.stream")

RECEIVE_BYTES = 256 * 1024
# How long a connection nobody announced may wait for an announcement before it is refused.
# The owner's own announcement is written before it connects, so it never waits this long.
VERIFY_TIMEOUT_S = 5.0
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST


class Relay:
    """Accepting happens in a reader callback, never in a task that could be cancelled
    between the kernel handing over a connection and our code holding it."""

    def __init__(self, host: str = "127.0.0.1",
                 max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.host = host
        self.ended = False
        self._decoder = MessageDecoder(max_message_bytes)
        self._connection: socket.socket | None = None
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

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def accept(self, sources: StreamSources | None) -> None:
        """Wait for the owner's connection; strangers are reset and the wait goes on.
        With no `sources`, the first connection is the owner's."""
        while not self._judge(sources, final=False):
            self._arrived.clear()
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._arrived.wait())]
            timeout = None
            if sources is not None and self._candidates:
                waits.append(asyncio.ensure_future(sources.next_change().wait()))
                oldest = self._candidates[0][2]
                timeout = max(0.0, oldest + VERIFY_TIMEOUT_S - time.monotonic())
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()

    def accept_waiting(self, sources: StreamSources | None) -> bool:
        """Without waiting: is the owner's connection here? Called once the activation has
        ended, when every announcement is in, so an unannounced connection is a stranger."""
        self._accept_queued()
        return self._judge(sources, final=True)

    def _accept_queued(self) -> None:
        while self._listener is not None:
            try:
                connection, peer = self._listener.accept()
            except BlockingIOError:
                return
            self._candidates.append((connection, peer[1], time.monotonic()))
            self._arrived.set()

    def _judge(self, sources: StreamSources | None, final: bool) -> bool:
        """Keep the owner's connection and reset strangers; True once the owner's is kept."""
        while self._candidates and self._connection is None:
            connection, port, since = self._candidates[0]
            owned = True if sources is None else sources.verdict(port)
            if owned is None:
                if not final and time.monotonic() - since < VERIFY_TIMEOUT_S:
                    return False  # its announcement may still be on the way
                owned = False
            self._candidates.popleft()
            if owned:
                connection.setblocking(False)
                self._connection = connection
                self._close_listener()  # one connection per invocation
            else:
                log.warning("refused a connection to stream port %s from 127.0.0.1:%s: not "
                            "the activation's own", self.port, port)
                _reset(connection)
        return self._connection is not None

    async def receive(self) -> list[Message]:
        """The next messages from the action; after its end, `ended` is true."""
        assert self._connection is not None, "accept() first"
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(self._connection, RECEIVE_BYTES)
            except OSError as exc:
                self.ended = True
                return [*self._decoder.close(),
                        {"error": f"the action's stream connection failed: {exc.strerror}"}]
            if not data:
                self.ended = True
                return self._decoder.close()
            messages = self._decoder.feed(data)
            if messages:
                return messages

    def close(self) -> None:
        """Release the port and reset the connection, which tells the action to stop."""
        self._close_listener()
        if self._connection is not None:
            _reset(self._connection)
            self._connection = None

    def _close_listener(self) -> None:
        while self._candidates:
            _reset(self._candidates.popleft()[0])
        if self._listener is not None:
            _close(self._listener)
            self._listener = None


def _reset(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    _close(connection)


def _close(sock: socket.socket) -> None:
    # The listener's reader callback, or a cancelled sock_recv, would otherwise be unregistered
    # on a later loop turn, when the fd number may belong to a new socket.
    with contextlib.suppress(RuntimeError, ValueError):
        asyncio.get_running_loop().remove_reader(sock.fileno())
    sock.close()
