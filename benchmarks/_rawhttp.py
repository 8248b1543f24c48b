"""A minimal HTTP/1.1 client on a raw socket, so the benchmarks time the server, not a client
library (httpx alone costs about a millisecond per request here). httptools, the parser
uvicorn uses, reads the responses, chunked bodies included."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools


class _Response:
    def __init__(self) -> None:
        self.status = 0
        self.body: list[bytes] = []
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class RawHttp:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.host = f"{self.address[0]}:{self.address[1]}".encode()
        self._sock: socket.socket | None = None

    def _request(self, method: str, path: str, body: bytes = b"") -> bytes:
        head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host]
        if body or method == "POST":
            head += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
        return b"\r\n".join(head) + b"\r\n\r\n" + body

    def get(self, path: str) -> tuple[int, bytes]:
        """One request on a kept-alive connection. A connection the server closed while it
        was idle (its keep-alive timeout, 5 s) is opened again and the GET sent again, as
        HTTP clients do (RFC 9112 9.3.1); closed under a request it had begun, it is an
        error."""
        reused = self._sock is not None
        if self._sock is None:
            self._sock = _connect(self.address)
        sock = self._sock
        try:
            sock.sendall(self._request("GET", path))
        except (BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            self.close()
            return self.get(path)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        answered = False
        while not response.complete:
            data = sock.recv(65536)
            if not data:
                self.close()
                if reused and not answered:
                    return self.get(path)
                raise ConnectionError("the server closed the connection")
            answered = True
            parser.feed_data(data)
        return parser.get_status_code(), b"".join(response.body)

    def stream(self, path: str, payload: dict[str, Any]) -> Iterator[tuple[float, bytes]]:
        """POST on a new connection; each NDJSON line with the time it arrived."""
        with _connect(self.address) as sock:
            sock.sendall(self._request("POST", path, json.dumps(payload).encode()))
            response = _Response()
            parser = httptools.HttpResponseParser(response)
            pending = b""
            while not response.complete:
                data = sock.recv(256 * 1024)
                if not data:
                    raise ConnectionError("the server closed the stream early")
                now = time.time()
                parser.feed_data(data)
                if response.body:
                    *lines, pending = (pending + b"".join(response.body)).split(b"\n")
                    response.body.clear()
                    for line in lines:
                        if line:
                            yield now, line
            if parser.get_status_code() != 200:
                raise AssertionError(f"status {parser.get_status_code()}: {pending!r}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def json_lines(lines: Iterator[tuple[float, bytes]]) -> Iterator[tuple[float, dict[str, Any]]]:
    for arrival, line in lines:
        yield arrival, json.loads(line)


def timed_requests(http: RawHttp, path: str, count: int, status: int = 200,
                   warm: int = 20) -> list[float]:
    """`count` GETs of `path` after `warm` untimed ones; each one's seconds."""
    for _ in range(warm):
        http.get(path)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        code, _ = http.get(path)
        samples.append(time.perf_counter() - started)
        assert code == status, code
    return samples


def served_url(log: Path, process: subprocess.Popen[bytes], within_s: float = 60) -> str:
    """The URL a `streamwhisk up` started with its output in `log` says it serves at."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("streamwhisk serving "):
                return line.rsplit(" at ", 1)[1]
        if process.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.002)
    raise SystemExit(f"up did not start:\n{log.read_text()}")
