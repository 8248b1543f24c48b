"""uvicorn's httptools protocol with the limits a server beside the user's browser needs.

    headers   at most `max_header_bytes` (request line included) and `max_headers` of them,
              else 431 and the connection closes, before the request reaches the app
    time      a client has `header_timeout_s` from its first byte to the end of its headers,
              and `body_timeout_s` from there to the end of its body, else 408 and close;
              what the server sends back (a stream, for minutes) has no such limit

An idle keep-alive connection is uvicorn's own concern (`timeout_keep_alive`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0


def bounded_protocol(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` that enforces `limits`."""

    class Bounded(_BoundedHttpTools):
        pass

    Bounded.limits = limits
    return Bounded


class _TooLarge(Exception):
    pass


class _BoundedHttpTools(HttpToolsProtocol):
    limits = HttpLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._header_count = 0
        self._too_large = False
        self._deadline: asyncio.TimerHandle | None = None
        self._arm(self.limits.header_timeout_s)  # a client that connects and says nothing

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._too_large:
                self._refuse(431, "Request Header Fields Too Large",
                             f"The request's headers pass {self.limits.max_header_bytes} bytes "
                             f"or {self.limits.max_headers} fields.")
            else:
                self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._header_count = 0
        if self._deadline is None:
            self._arm(self.limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        self._count(len(url), fields=0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), fields=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._arm(self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _count(self, size: int, fields: int) -> None:
        self._header_bytes += size
        self._header_count += fields
        if (self._header_bytes > self.limits.max_header_bytes
                or self._header_count > self.limits.max_headers):
            self._too_large = True
            raise _TooLarge

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app answered already: just end it
            return
        self._refuse(408, "Request Timeout", "The request was not sent in time.")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        if self.transport.is_closing():
            return
        body = message.encode()
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
        self.transport.close()
