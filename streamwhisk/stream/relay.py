"""One streaming invocation's listening socket on 127.0.0.1, and the one connection it keeps.

Everything here runs in event-loop callbacks, never in a task that could be cancelled between
the kernel handing a connection over and our code holding it: the listener's reader accepts,
the ownership rule (`ownership.py`) judges each connection as it arrives or as announcements
come in, and `owned` resolves with the activation's own connection. Strangers are reset and do
not use up the slot.

The kept connection is read by a reader callback that feeds the decoder (`Inbound`).
Backpressure: once `high_water` bytes of decoded messages wait for the client, reading stops,
so the kernel's buffers fill and the action's `sendall` blocks; a slow client slows the action,
and the server holds at most `high_water`, one read and one unfinished message per stream.
Closing resets the connection, so the action's next send fails at once instead of filling a
buffer nobody reads: that is how a stop reaches the action.
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

from .decoder import MAX_MESSAGE_BYTES, Batch, MessageDecoder
from .ownership import Ownership
from .schema import STREAM_HOST, STREAM_PORT

log = logging.getLogger("streamwhisk.stream")

HIGH_WATER = 256 * 1024
RECEIVE_BYTES = 256 * 1024
# How long a connection nobody announced may wait for an announcement before it is refused.
# The owner's own announcement is written before it connects, so it never waits this long.
VERIFY_TIMEOUT_S = 5.0
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST


class Inbound:
    """The activation's connection: decoded messages wait here until the client takes them."""

    def __init__(self, sock: socket.socket, max_message_bytes: int, high_water: int) -> None:
        self.ended = False
        self._sock = sock
        self._decoder = MessageDecoder(max_message_bytes)
        self._high_water = high_water
        self._batch = Batch()
        self._waiting_bytes = 0
        self._reading = False
        self._waiter: asyncio.Future[None] | None = None
        sock.setblocking(False)
        self._read_on()

    def take(self) -> Batch:
        """Every message that has arrived; reading resumes if it had stopped."""
        messages, self._batch = self._batch, Batch()
        self._waiting_bytes = 0
        if not self.ended:
            self._read_on()
        return messages

    async def arrival(self, within_s: float, also: asyncio.Future[Any] | None = None) -> bool:
        """Until messages or the end arrive (True), or `also` completes or `within_s` passes
        (False). One future, woken by whichever comes first: this runs once per message when
        messages are sparse, so it creates no task."""
        if self._batch or self.ended:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()

        def wake(*_: object) -> None:
            if not waiter.done():
                waiter.set_result(None)

        timer = loop.call_later(within_s, wake)
        if also is not None:
            also.add_done_callback(wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if also is not None:
                also.remove_done_callback(wake)
        return bool(self._batch) or self.ended

    def abort(self) -> None:
        """Reset the connection (the action's next send fails) and end the stream here."""
        if self.ended:
            return
        self._read_off()
        _reset(self._sock)
        self.ended = True
        self._wake()

    def _readable(self) -> None:
        try:
            data = self._sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._end(f"the action's stream connection failed: {exc.strerror or exc}")
            return
        if not data:
            self._end(None)
            return
        self._batch.extend(self._decoder.feed_texts(data))
        self._waiting_bytes += len(data)
        if not self._batch:
            return  # an unfinished message: the decoder bounds what it holds
        if self._waiting_bytes >= self._high_water:
            self._read_off()
        self._wake()

    def _end(self, error: str | None) -> None:
        self._read_off()
        self._batch.extend(self._decoder.close_texts())
        if error is not None:
            self._batch.add({"error": error})
        # The action has sent everything and closed its side. A reset, not a FIN, answers:
        # its socket then ends at once instead of holding its port in TIME_WAIT for a
        # minute, and under load those ports would run out (every connect and every stream
        # port's bind slowed down, then failed)
        _reset(self._sock)
        self.ended = True
        self._wake()

    def _read_on(self) -> None:
        if not self._reading:
            asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)
            self._reading = True

    def _read_off(self) -> None:
        if self._reading:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._reading = False

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Relay:
    def __init__(self, ownership: Ownership, host: str = "127.0.0.1",
                 max_message_bytes: int = MAX_MESSAGE_BYTES, high_water: int = HIGH_WATER,
                 advertise: str = "") -> None:
        self.host = host
        self.advertise = advertise or host  # what the action is told to connect to
        self._ownership = ownership
        self._max_message_bytes = max_message_bytes
        self._high_water = high_water
        self._candidates: deque[tuple[socket.socket, int, float]] = deque()  # sock, port, since
        self._recheck: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        self.owned: asyncio.Future[Inbound] = loop.create_future()
        self._listener: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, 0))
            self._listener.listen(8)
            self._listener.setblocking(False)
            loop.add_reader(self._listener.fileno(), self._accept_queued)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]
        ownership.on_change(lambda: self._judge(final=False))

    def arguments(self) -> dict[str, str]:
        """What the action needs to connect, as OpenServerless passes it: strings."""
        return {STREAM_HOST: self.advertise, STREAM_PORT: str(self.port)}

    def accept_now(self) -> Inbound | None:
        """Without waiting: the owner's connection, if it is here. For when the activation has
        ended: every announcement is in, so an unannounced connection is a stranger."""
        self._accept_queued()
        self._judge(final=True)
        return self.owned.result() if self.owned.done() and not self.owned.cancelled() else None

    def close(self) -> None:
        """Release the port and reset the connection, which tells the action to stop."""
        self._close_listener()
        if not self.owned.done():
            self.owned.cancel()
        elif not self.owned.cancelled():
            self.owned.result().abort()

    def _accept_queued(self) -> None:
        while self._listener is not None:
            try:
                connection, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # out of descriptors, say: refuse this one, keep serving
                log.warning("could not accept a stream connection: %s", exc)
                break
            self._candidates.append((connection, peer[1], time.monotonic()))
        self._judge(final=False)

    def _judge(self, final: bool) -> None:
        """Keep the owner's connection and reset strangers, in the order they came."""
        while self._candidates and not self.owned.done():
            connection, port, since = self._candidates[0]
            owned = self._ownership.verdict(port)
            if owned is None:
                waited = time.monotonic() - since
                if not final and waited < VERIFY_TIMEOUT_S:
                    self._judge_again_in(VERIFY_TIMEOUT_S - waited)
                    return  # its announcement may still be on the way
                owned = False
            self._candidates.popleft()
            if owned:
                self.owned.set_result(Inbound(connection, self._max_message_bytes,
                                              self._high_water))
                self._close_listener()  # one connection per invocation
            else:
                log.warning("refused a connection to stream port %s from 127.0.0.1:%s: not "
                            "the activation's own", self.port, port)
                _reset(connection)

    def _judge_again_in(self, delay: float) -> None:
        if self._recheck is None:
            def recheck() -> None:
                self._recheck = None
                self._judge(final=False)

            self._recheck = asyncio.get_running_loop().call_later(delay, recheck)

    def _close_listener(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
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
