"""Running the apps under uvicorn: the project server and, beside it, the dev Ollama."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from ..actionloop.confine import not_dumpable
from ..errors import ListenError
from ..paths import write_whole
from . import READY_FILE
from .frontdoor import serve_front
from .limits import HttpLimits, bounded_protocol
from .subdomains import service_names

DEFAULT_LIMITS = HttpLimits()

LISTEN_BACKLOG = 2048
STOP_WITHIN_S = 10.0  # the graceful shutdown's 5 s, and the lifespan's end


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so the printed URL accepts connections at once
    (and `--port 0` is resolved to a real port)."""
    if not 0 <= port <= 65535:
        raise ListenError(f"{port} is not a port: use one from 1 to 65535, or 0 for a free one "
                          "(--port N; with make: make run PORT=8081)")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except socket.gaierror as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}: {exc.strerror}; --host takes an address "
                          "of this machine, such as 127.0.0.1 or 0.0.0.0") from exc
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}; try another "
                          "--port, or --port 0 (with make: make run PORT=8081)") from exc
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def own_host_names(host: str, port: int, extra: tuple[str, ...] = (),
                   platform: bool = False) -> tuple[str, ...]:
    """The Host headers that name this server: its loopback names, the address it is bound
    to (unless that is every address), and the names given (`--allow-host`), at its port
    unless a name carries its own; with `platform`, for each of them that is a DNS name, the
    platform's `stream.` and `s3.` names too (subdomains.py)."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host else host)
    hosts = {f"{name.lower()}:{port}" for name in names}
    hosts |= {name.lower() if name.rsplit(":", 1)[-1].isdigit() and not name.endswith("]")
              else f"{name.lower()}:{port}" for name in extra}
    return tuple(sorted(hosts | service_names(hosts) if platform else hosts))


@dataclass
class Served:
    app: ASGIApp
    sock: socket.socket
    tls: ssl.SSLContext | None = None  # also take TLS on the same address (frontdoor.py)
    on_exit: Callable[[], None] | None = None  # at Ctrl-C: end what would hold the exit up


def _stop_now() -> None:
    logging.getLogger("streamwhisk.server").warning(
        "stopping took longer than %.0f s: ending the process now", STOP_WITHIN_S)
    os._exit(1)


class _Stoppable(uvicorn.Server):
    """Ctrl-C ends the streams in flight at once (their clients get the end of the
    response), so the graceful shutdown has nothing left to wait for."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._stopping = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._on_exit is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self._on_exit)
        if not self._stopping.is_set():  # one signal always stops: if shutting down hangs,
            self._stopping.set()  # the process ends anyway once the grace period is over
            timer = threading.Timer(STOP_WITHIN_S, _stop_now)
            timer.daemon = True  # a process that ends in time does not wait for it
            timer.start()


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
    """A server that runs beside the main one and stops with it; signals are the main's, and
    so are uvicorn's start and stop lines (a companion's would say the same thing again)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        _in_companion.set(True)  # this task's context only
        await super().serve(sockets)


_in_companion: contextvars.ContextVar[bool] = contextvars.ContextVar("companion", default=False)


class _CompanionChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_in_companion.get() and record.name.startswith("uvicorn")
                    and record.levelno < logging.WARNING)


@contextlib.asynccontextmanager
async def beside(companions: list[Served], log_level: str,
                 limits: HttpLimits = DEFAULT_LIMITS) -> AsyncIterator[None]:
    """Serve the companions on the running loop while the block runs."""
    # a companion's requests are not logged as the main server's: it logs its own, labelled
    # (`access_log=False` would switch uvicorn's access logger off for the main one too)
    helpers = [_Companion(uvicorn.Config(c.app, log_level=log_level, timeout_graceful_shutdown=1,
                                         server_header=False, http=bounded_protocol(limits),
                                         log_config=None, lifespan="off"))
               for c in companions]
    quiet = _CompanionChatter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
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
                            server_header=False, http=bounded_protocol(limits), log_config=None)
    server = _Stoppable(config, main.on_exit)

    ready = os.environ.pop(READY_FILE, "")  # not for the processes this one starts

    async def serve_all() -> None:
        server.loop = asyncio.get_running_loop()
        async with beside(companions, log_level, limits):
            if ready:  # the address, for the program that started this server
                write_whole(Path(ready), url_of(main.sock) + "\n")
            await _serve(server, main)

    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(
            loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve_all())  # uvicorn raises the signal that stopped it again, at the end
