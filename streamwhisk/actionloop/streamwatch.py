"""Which connection to the relay is an activation's stream: announced from inside the worker
before it connects, and shut down for writing when the activation ends."""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from typing import Any

from ..stream.schema import STREAM_HOST, STREAM_PORT
from .messages import Run, StreamFrom
from .results import ResultChannel


class StreamWatch:
    """Announces where each activation's stream connection comes from, and ends it.

    The relay listens on 127.0.0.1, where any local process can connect. This audit hook sees
    each `socket.connect` to an activation's STREAM_HOST:STREAM_PORT, binds the socket to a
    local port first, and reports that port before the connection is made, so the relay keeps
    this connection and refuses strangers. Registrations are keyed by activation: a connect
    from an activation's own thread is its own; from another thread, the one activation that
    expects that address, if only one does. When the activation ends, a stream socket the
    action left open is shut down for writing, so the relay reads everything, then the end.
    """

    def __init__(self, channel: ResultChannel) -> None:
        self._channel = channel
        self._expected: dict[str, tuple[str, int]] = {}  # activation id -> (host, port)
        self._sockets: dict[str, list[weakref.ref[socket.socket]]] = {}
        self._current = threading.local()
        self._lock = threading.Lock()

    def expect(self, run: Run) -> None:
        host, port = run.value.get(STREAM_HOST), str(run.value.get(STREAM_PORT, ""))
        self._current.activation_id = run.activation_id
        if isinstance(host, str) and port.isdigit():
            with self._lock:
                self._expected[run.activation_id] = (host, int(port))

    def connected(self, activation_id: str) -> bool:
        return bool(self._sockets.get(activation_id))

    def finish(self, activation_id: str) -> None:
        self._current.activation_id = None
        with self._lock:
            self._expected.pop(activation_id, None)
            references = self._sockets.pop(activation_id, [])
        for reference in references:
            sock = reference()
            if sock is not None and sock.fileno() != -1:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "socket.connect" or not self._expected:
            return
        sock, address = args
        if not isinstance(address, tuple) or len(address) < 2:
            return
        owner = self._owner(address[0], address[1])
        if owner is None:
            return
        try:
            if sock.getsockname()[1] == 0:
                sock.bind((self._expected[owner][0], 0))
            self._channel.send(StreamFrom(owner, sock.getsockname()[1]))
        except (OSError, KeyError):
            return  # the connect that follows reports the problem to the action
        with self._lock:
            self._sockets.setdefault(owner, []).append(weakref.ref(sock))

    def _owner(self, host: str, port: int) -> str | None:
        def matches(expected: tuple[str, int]) -> bool:
            return port == expected[1] and host in (expected[0], "localhost")

        mine = getattr(self._current, "activation_id", None)
        with self._lock:
            if mine in self._expected and matches(self._expected[mine]):
                return str(mine)
            candidates = [a for a, e in self._expected.items() if matches(e)]
        return candidates[0] if len(candidates) == 1 else None
