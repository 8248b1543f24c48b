"""Running the apps under uvicorn: the project server and, beside it, the dev Ollama."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from ..actionloop.confine import not_dumpable
from ..errors import ListenError
from .bounded import HttpLimits, bounded_protocol
from .frontdoor import serve_front

DEFAULT_LIMITS = HttpLimits()

LISTEN_BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so the printed URL accepts connections at once
    (and `--port 0` is resolved to a real port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}; "
                          "try another --port, or --port 0") from exc
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def own_host_names(host: str, port: int, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Host headers that name this server: its loopback names, the address it is bound
    to (unless that is every address), and the names given (`--allow-host`), at its port
    unless a name carries its own."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host else host)
    hosts = {f"{name.lower()}:{port}" for name in names}
    hosts |= {name.lower() if name.rsplit(":", 1)[-1].isdigit() and not name.endswith("]")
              else f"{name.lower()}:{port}" for name in extra}
    return tuple(sorted(hosts))


@dataclass
class Served:
    app: ASGIApp
    sock: socket.socket
    tls: ssl.SSLContext | None = None  # also take TLS on the same address (frontdoor.py)


async def _serve(server: uvicorn.Server, served: Served) -> None:
    if served.tls is None:
        await server.serve(sockets=[served.sock])
        return
    backend = listen("127.0.0.1", 0)
    front = asyncio.create_task(serve_front(served.sock, backend.getsockname()[:2], served.tls))
    try:
        await server.serve(sockets=[backend])
    finally:
        front.cancel()
        await asyncio.gather(front, return_exceptions=True)


class _Companion(uvicorn.Server):
    """A server that runs beside the main one and stops with it; signals are the main's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def beside(companions: list[Served], log_level: str,
                 limits: HttpLimits = DEFAULT_LIMITS) -> AsyncIterator[None]:
    """Serve the companions on the running loop while the block runs."""
    helpers = [_Companion(uvicorn.Config(c.app, log_level=log_level, timeout_graceful_shutdown=1,
                                         server_header=False, http=bounded_protocol(limits)))
               for c in companions]
    tasks = [asyncio.create_task(_serve(h, c)) for h, c in zip(helpers, companions, strict=True)]
    try:
        yield
    finally:
        for helper in helpers:
            helper.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


def run(main: Served, companions: list[Served], log_level: str,
        limits: HttpLimits = DEFAULT_LIMITS) -> None:
    """Serve `main` until interrupted, with each companion on the same event loop."""
    not_dumpable()  # no action (same user) may read this process's memory or environment
    # no "Server: uvicorn" header: the dev Ollama names itself in its own
    config = uvicorn.Config(main.app, log_level=log_level, timeout_graceful_shutdown=5,
                            server_header=False, http=bounded_protocol(limits))
    server = uvicorn.Server(config)

    async def serve_all() -> None:
        async with beside(companions, log_level, limits):
            await _serve(server, main)

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve_all())
