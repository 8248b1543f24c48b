"""One listening address that takes both TLS and plain HTTP, for the same app.

Course code calls the dev Ollama as `https://...`; a user's own examples and a local Ollama
use `http://`. Each connection's first byte tells them apart (0x16 opens a TLS handshake);
TLS is ended here with the dev CA's certificate, and either way the bytes are spliced to the
app's plain HTTP server on a private loopback port, with flow control both ways, and a close
on either side closes the other (so a client that goes away is seen by the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import cast

TLS_HANDSHAKE = 0x16
FIRST_BYTE_TIMEOUT_S = 10.0
HIGH_WATER = 256 * 1024


class _Pipe(asyncio.Protocol):
    """One side of a splice: what it reads, its peer writes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self._early: list[bytes] = []  # read before the peer was joined

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=HIGH_WATER)

    def join(self, peer: _Pipe) -> None:
        self.peer = peer
        for data in self._early:
            peer.write(data)
        self._early.clear()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self._early.append(data)
        else:
            self.peer.write(data)

    def eof_received(self) -> bool:
        if self.peer is not None and self.peer.transport is not None:
            if self.peer.transport.can_write_eof():
                self.peer.transport.write_eof()
                # half-closed: the answer may still come back (TLS cannot half-close)
                return self.transport is not None and self.transport.can_write_eof()
            self.peer.transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


async def serve_front(public: socket.socket, backend: tuple[str, int],
                      context: ssl.SSLContext) -> None:
    """Accept on `public` until cancelled; splice each connection to `backend`."""
    loop = asyncio.get_running_loop()
    public.setblocking(False)
    splices: set[asyncio.Task[None]] = set()
    try:
        while True:
            sock, _ = await loop.sock_accept(public)
            task = loop.create_task(_splice(sock, backend, context))
            splices.add(task)
            task.add_done_callback(splices.discard)
    finally:
        for task in splices:
            task.cancel()
        await asyncio.gather(*splices, return_exceptions=True)


async def _splice(sock: socket.socket, backend: tuple[str, int],
                  context: ssl.SSLContext) -> None:
    loop = asyncio.get_running_loop()
    back: _Pipe | None = None
    try:
        first = await asyncio.wait_for(_peek(sock), FIRST_BYTE_TIMEOUT_S)
        if not first:
            sock.close()
            return
        _, back = await loop.create_connection(_Pipe, *backend)
        # our own instance: with TLS, uvloop returns its SSL protocol, not the one made here
        front = _Pipe()
        if first[0] == TLS_HANDSHAKE:
            await loop.connect_accepted_socket(lambda: front, sock, ssl=context,
                                               ssl_handshake_timeout=FIRST_BYTE_TIMEOUT_S)
        else:
            await loop.connect_accepted_socket(lambda: front, sock)
    except (Exception, asyncio.CancelledError) as exc:
        # a failed handshake, a silent client, or the server stopping (its sockets closing
        # under us: EBADF): that connection only, and quietly
        sock.close()
        if back is not None and back.transport is not None:
            back.transport.close()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return
    front.join(back)
    back.join(front)


async def _peek(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    try:
        await readable
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sock.fileno())
    try:
        return sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return b""
