"""One listening address that takes both TLS and plain HTTP, for the same app.

Course code calls the dev Ollama as `https://...`; a user's own examples and a local Ollama
use `http://`. Each connection's first byte tells them apart (0x16 opens a TLS handshake);
TLS is ended here with the dev CA's certificate, and either way the bytes are spliced to the
app's plain HTTP server on a private loopback port, with flow control both ways, and a close
on either side closes the other (so a client that goes away is seen by the app).

The event loop accepts and owns every socket (`create_server`): this module never touches a
file descriptor, so none can be closed twice. (It once peeked at accepted sockets and handed
them to the loop; a client gone during that hand-over had its descriptor closed by both, the
number was reused by the next connection, and uvloop aborted.) TLS runs over memory buffers
(`ssl.MemoryBIO`) inside the protocol, since the first byte has been read by then.
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
READ_SIZE = 256 * 1024


class _Tls:
    """A server-side TLS session over memory: bytes from the client in, plain text out,
    and what goes back to the client taken from `outgoing`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._session = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.established = False
        self.closed = False  # the client said close_notify

    def received(self, data: bytes) -> bytes:
        """The plain text in `data` (none while the handshake runs); ssl.SSLError when the
        client does not speak TLS as it should."""
        self._incoming.write(data)
        if not self.established:
            try:
                self._session.do_handshake()
            except ssl.SSLWantReadError:
                return b""
            self.established = True
        plain = []
        while not self.closed:
            try:
                chunk = self._session.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                chunk = b""
            if not chunk:
                self.closed = True
            plain.append(chunk)
        return b"".join(plain)

    def send(self, plain: bytes) -> None:
        self._session.write(plain)

    def outgoing(self) -> bytes:
        return self._outgoing.read()


class _Side(asyncio.Protocol):
    """What both ends share: a transport, its peer, and flow control toward the peer."""

    transport: asyncio.Transport | None = None
    peer: _Side | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=HIGH_WATER)

    def write(self, data: bytes) -> None:
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def end(self) -> None:
        """The peer sent its last byte: half-close when this side can, else close."""
        if self.transport is not None and not self.transport.is_closing():
            if self.transport.can_write_eof():
                self.transport.write_eof()
            else:
                self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Backend(_Side):
    """The connection to the app: what it answers goes to the client."""

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            self.peer.write(data)

    def eof_received(self) -> bool:
        if self.peer is not None:
            self.peer.end()
        return False


class _Client(_Side):
    """A connection from a client: TLS or plain by its first byte, then spliced to the app."""

    def __init__(self, backend: tuple[str, int], context: ssl.SSLContext,
                 live: set[_Client]) -> None:
        self._backend, self._context, self._live = backend, context, live
        self._tls: _Tls | None = None
        self._sniffed = False
        self._waiting: list[bytes] = []  # for the app, while its connection is being made
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._live.add(self)
        self._timer = asyncio.get_running_loop().call_later(FIRST_BYTE_TIMEOUT_S, self._late)

    def _late(self) -> None:
        """A client silent, or still in its handshake, after the timeout: dropped."""
        if not self._sniffed or (self._tls is not None and not self._tls.established):
            self.close()

    def data_received(self, data: bytes) -> None:
        if not self._sniffed:
            self._sniffed = True
            if data[0] == TLS_HANDSHAKE:
                self._tls = _Tls(self._context)
            asyncio.get_running_loop().create_task(self._connect())
        if self._tls is not None:
            try:
                data = self._tls.received(data)
            except ssl.SSLError:
                super().write(self._tls.outgoing())  # its alert, then the end
                self.close()
                return
            super().write(self._tls.outgoing())
            if self._tls.closed and self.peer is not None:
                self.peer.end()
        if not data:
            return
        if self.peer is None:
            self._waiting.append(data)
        else:
            self.peer.write(data)

    async def _connect(self) -> None:
        try:
            _, backend = await asyncio.get_running_loop().create_connection(
                _Backend, *self._backend)
        except OSError:
            self.close()
            return
        if self.transport is None or self.transport.is_closing():
            backend.close()
            return
        backend.peer, self.peer = self, backend
        for data in self._waiting:
            backend.write(data)
        self._waiting.clear()

    def write(self, data: bytes) -> None:
        """What the app answers, to the client (through TLS when it spoke TLS)."""
        if self._tls is None:
            super().write(data)
        elif data and self.transport is not None and not self.transport.is_closing():
            self._tls.send(data)
            super().write(self._tls.outgoing())

    def end(self) -> None:
        if self._tls is None:
            super().end()
        else:  # TLS has no half-close
            self.close()

    def eof_received(self) -> bool:
        if self.peer is not None:
            self.peer.end()
        # half-closed: the answer may still come back (a TLS client that closes is gone)
        return self._tls is None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._live.discard(self)
        super().connection_lost(exc)


async def serve_front(public: socket.socket, backend: tuple[str, int],
                      context: ssl.SSLContext) -> None:
    """Accept on `public` until cancelled; splice each connection to `backend`."""
    live: set[_Client] = set()
    server = await asyncio.get_running_loop().create_server(
        lambda: _Client(backend, context, live), sock=public)
    try:
        await asyncio.Future()  # until cancelled
    finally:
        server.close()
        for client in list(live):
            client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
