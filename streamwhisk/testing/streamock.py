"""`streamock`: the lesson's stream mock, without its flaws.

    args = streamock.args()          # STREAM_HOST/STREAM_PORT of a socket already listening
    mock = streamock.start(args)     # collect what arrives, in a background thread
    stream(args, lines)              # the action's own code connects and sends
    data = streamock.stop(mock)      # raw bytes; data.messages and data.output decoded

The port comes from the OS and is held from `args()` on, so two tests never collide; each
mock keeps its own state; every wait is bounded.
"""

from __future__ import annotations

import selectors
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from ..stream.decoder import Message, MessageDecoder

DEFAULT_STOP_TIMEOUT_S = 5.0


class StreamArgs(dict[str, Any]):
    """Action arguments holding the listening socket their STREAM_PORT names."""

    listener: socket.socket


class StreamedBytes(bytes):
    """What the action sent, as raw bytes (as in the lesson), plus the decoded messages."""

    messages: list[Message]

    def __new__(cls, data: bytes, messages: list[Message]) -> StreamedBytes:
        made = super().__new__(cls, data)
        made.messages = messages
        return made

    @property
    def output(self) -> str:
        """The `output` deltas joined: the text a chat would show."""
        return "".join(str(m["output"]) for m in self.messages if "output" in m)

    @property
    def errors(self) -> list[str]:
        return [str(m["error"]) for m in self.messages if "error" in m]


def args(host: str = "127.0.0.1", **extra: Any) -> StreamArgs:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(8)
    made = StreamArgs(STREAM_HOST=host, STREAM_PORT=str(listener.getsockname()[1]), **extra)
    made.listener = listener
    return made


@dataclass
class StreamMock:
    listener: socket.socket
    args: dict[str, Any] = field(default_factory=dict)
    _received: list[bytearray] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _giving_up: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> StreamMock:
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread is not None:
            stop(self)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> StreamedBytes:
        return stop(self, timeout)

    def _collect(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            open_connections = 0
            while not self._giving_up.is_set():
                # read before selecting: a sender that finished before stop() was called has
                # its connection queued already, so this last non-blocking select sees it
                stopping = self._stopping.is_set()
                events = selector.select(timeout=0 if stopping else 0.05)
                if not events and stopping and open_connections == 0:
                    break
                for key, _ in events:
                    open_connections += self._read(selector, key)
            for key in list(selector.get_map().values()):
                if key.fileobj is not self.listener:
                    key.fileobj.close()  # type: ignore[union-attr]

    def _read(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> int:
        """Accept or read; the change in the number of open connections."""
        sock: socket.socket = key.fileobj  # type: ignore[assignment]
        if sock is self.listener:
            connection, _ = sock.accept()
            buffer = bytearray()
            self._received.append(buffer)
            selector.register(connection, selectors.EVENT_READ, buffer)
            return 1
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if data:
            key.data.extend(data)
            return 0
        selector.unregister(sock)
        sock.close()
        return -1


def start(stream_args: dict[str, Any]) -> StreamMock:
    """Start collecting on the socket of `stream_args` (from `args()`, or any STREAM_PORT)."""
    listener = getattr(stream_args, "listener", None)
    if listener is None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((stream_args["STREAM_HOST"], int(stream_args["STREAM_PORT"])))
        listener.listen(8)
    mock = StreamMock(listener, stream_args)
    mock._thread = threading.Thread(target=mock._collect, name="streamock", daemon=True)
    mock._thread.start()
    return mock


def stop(mock: StreamMock, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> StreamedBytes:
    """Wait (at most `timeout` s) for the senders to close, then return what they sent."""
    mock._stopping.set()
    if mock._thread is not None:
        mock._thread.join(timeout)
        if mock._thread.is_alive():
            mock._giving_up.set()
            mock._thread.join()
            mock._thread = None
            mock.listener.close()
            raise TimeoutError(f"the action kept its stream socket open for over {timeout} s; "
                               "close it (use `with socket.socket(...)`) before returning")
        mock._thread = None
    mock.listener.close()
    messages: list[Message] = []
    for chunk in mock._received:
        decoder = MessageDecoder()
        messages += decoder.feed(bytes(chunk)) + decoder.close()
    return StreamedBytes(b"".join(mock._received), messages)
