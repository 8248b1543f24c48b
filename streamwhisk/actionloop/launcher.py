"""The action loop inside a worker process: `python -m streamwhisk.actionloop.launcher FD`.

It starts, imports what it needs and waits for Init (so a prewarmed "stem cell" can be taken
by any action), loads the action, then runs one activation per Run line; the messages are in
`messages.py`. Between activations it reaps the children the action left behind; it is their
subreaper too, so a daemon the action double-forks stays in its tree, where the server's kill
finds it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.machinery
import importlib.util
import json
import math
import os
import signal
import socket
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from ..stream.schema import STREAM_HOST, STREAM_PORT
from .environ import ActivationEnviron
from .localnames import resolve_localhost_names
from .memory import MemoryLimit, leave_sigchld_to_the_main_thread
from .messages import Done, Init, Ready, Run, StreamFrom

Entry = Callable[[dict[str, Any]], Any]
MAX_RESULT_BYTES = 1024 * 1024
THREAD_STACK_BYTES = 2 * 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36
# What a send to a stream the client closed raises: the user pressed Stop, not a bug.
_STOPPED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class ResultChannel:
    """The result fd: whole lines, one writer at a time."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: Ready | StreamFrom | Done | bytes) -> None:
        data = memoryview(message if isinstance(message, bytes) else message.encode())
        with self._lock:
            while data:
                data = data[os.write(self._fd, data):]


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the action's own files from source every time.

    A `.pyc` is validated by whole-second mtime and size, so an edit saved within the same
    second would otherwise run the old code.
    """

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)


def source_only_hook(folder: str) -> Callable[[str], Any]:
    finder_hook = importlib.machinery.FileFinder.path_hook(
        (SourceOnlyLoader, importlib.machinery.SOURCE_SUFFIXES)
    )

    def hook(path: str) -> Any:
        if os.path.abspath(path) != folder:
            raise ImportError("not the action's folder")
        return finder_hook(path)

    return hook


def load_entry(init: Init) -> Entry:
    folder = os.path.dirname(init.main_file)
    os.chdir(folder)
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's project
    if init.multi_file:
        # a multi-file action imports its sibling modules, as in an OpenWhisk zip action
        sys.path_hooks.insert(0, source_only_hook(folder))
        sys.path.insert(0, folder)
        activate = os.path.join(folder, "virtualenv", "bin", "activate_this.py")
        if os.path.isfile(activate):  # a zip's libraries, activated as OpenWhisk's runtime does
            with open(activate, encoding="utf-8") as script:
                exec(compile(script.read(), activate, "exec"), {"__file__": activate})
    loader = SourceOnlyLoader("main__", init.main_file)
    spec = importlib.util.spec_from_file_location("main__", init.main_file, loader=loader)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {init.main_file}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    entry = getattr(module, init.entry, None)
    if not callable(entry):
        raise AttributeError(f"the action has no function {init.entry}(args)")
    return entry  # type: ignore[no-any-return]


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


class Activations:
    """Runs activations one at a time, or in threads when `concurrency` > 1."""

    def __init__(self, entry: Entry, init: Init, channel: ResultChannel) -> None:
        self.entry = entry
        self.channel = channel
        self.streams = StreamWatch(channel)
        sys.addaudithook(self.streams)
        self.environ: ActivationEnviron | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[str] = set()  # the activations in flight
        # re-entrant: the SIGCHLD handler runs in the main thread, maybe inside `submit`
        self._lock = threading.RLock()
        self.memory = MemoryLimit(init.memory_mb)
        self.memory.watch(self._out_of_memory)
        if init.concurrency > 1:
            # many threads: 8 MiB default stacks would take a lot of the address space backstop
            threading.stack_size(THREAD_STACK_BYTES)
            self._executor = ThreadPoolExecutor(init.concurrency,
                                                initializer=leave_sigchld_to_the_main_thread)
            self.environ = ActivationEnviron(os.environ)
            os.environ = self.environ  # type: ignore[assignment]  # noqa: B003 (an overlay)
        signal.signal(signal.SIGCHLD, self._reap_if_idle)

    def submit(self, run: Run) -> None:
        with self._lock:
            self._running.add(run.activation_id)
            self.memory.busy(True)
        if self._executor is None:
            self._run(run)
        else:
            self._executor.submit(self._run, run)

    def _run(self, run: Run) -> None:
        self.streams.expect(run)
        self._enter(run)
        try:
            done = self._call(run)
        finally:
            self.streams.finish(run.activation_id)
            if self.environ is not None:
                self.environ.leave()
        if self.memory.peak_exceeded():
            self._out_of_memory()
        self.channel.send(done)
        with self._lock:
            self._running.discard(run.activation_id)
            self.memory.busy(bool(self._running))
        self._reap_if_idle()

    def _out_of_memory(self) -> None:
        """As a container past its memory limit is killed: every activation in it fails."""
        message = self.memory.message()
        with self._lock:
            for activation_id in self._running:  # `ending`: no new activation comes here
                self.channel.send(Done(activation_id, error=message, ending=True))
        print(message, file=sys.stderr, flush=True)
        os._exit(1)

    def _reap_if_idle(self, *_: object) -> None:
        """Collect the children that exited, only while no activation runs, so that a
        `subprocess.run` in progress never loses its child's exit status to us. Runs after
        each activation and on SIGCHLD, which Python handles in the main thread: there, with
        `concurrency` 1, an activation is either running (`_running` holds it) or not started;
        with more, the lock keeps `submit` from starting one while we reap."""
        with self._lock:
            if not self._running:
                reap_children()

    def _enter(self, run: Run) -> None:
        variables = run.environment()
        if self.environ is not None:
            self.environ.enter(variables)
            return
        for key in [k for k in os.environ if k.startswith("__OW_")]:
            del os.environ[key]
        os.environ.update(variables)

    def _call(self, run: Run) -> Done | bytes:
        try:
            result = self.entry(run.value)
            if not isinstance(result, dict):
                raise TypeError(
                    f"The action did not return a dictionary (it returned "
                    f"{type(result).__name__})."
                )
            encoded = strict_json(result)
            if len(encoded.encode()) > MAX_RESULT_BYTES:
                raise ResultRefused(f"The action produced a result over {MAX_RESULT_BYTES} "
                                    "bytes; stream large output.")
        except MemoryError:
            return Done(run.activation_id, error="The action ran out of memory.")
        except BaseException as exc:
            if _stopped_by_client(exc) and self.streams.connected(run.activation_id):
                print(f"the client closed the stream: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
            elif isinstance(exc, ResultRefused):
                print(exc, file=sys.stderr)
            else:
                traceback.print_exc()
            return Done(run.activation_id, error=describe(exc))
        return Done.encode_result(run.activation_id, encoded)


def _stopped_by_client(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _STOPPED):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class ResultRefused(ValueError):
    """A result the action loop cannot send: the action's mistake, said as such."""


def strict_json(result: dict[str, Any]) -> str:
    """The result as JSON, or a ValueError naming where it is not: NaN and Infinity are not
    JSON numbers (Python writes them; a browser's JSON.parse, and OpenWhisk, refuse them)."""
    try:
        return json.dumps(result, ensure_ascii=False, allow_nan=False)
    except ValueError:
        where = _not_finite(result, "result")
        raise ResultRefused(f"The action's result is not JSON: {where} is not a JSON number; "
                         "NaN and Infinity have no JSON form (return null or a string)"
                         ) from None


def _not_finite(value: Any, path: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} ({value})"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list | tuple) else ()
    for key, inner in items:
        found = _not_finite(inner, f"{path}[{key!r}]")
        if found:
            return found
    return ""


def reap_children() -> list[int]:
    """Collect every child that exited; their pids."""
    reaped: list[int] = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append(pid)


def become_subreaper() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"The action exited (sys.exit({exc.code!r})) instead of returning a result."
    if isinstance(exc, ResultRefused) or (isinstance(exc, TypeError)
                                          and str(exc).startswith("The action")):
        return str(exc)
    return f"An error has occurred: {type(exc).__name__}: {exc}{missing_library(exc)}"


# import names whose package on PyPI is called otherwise
DISTRIBUTIONS = {"PIL": "pillow", "yaml": "pyyaml", "bs4": "beautifulsoup4",
                 "dateutil": "python-dateutil", "sklearn": "scikit-learn",
                 "cv2": "opencv-python", "dotenv": "python-dotenv", "jwt": "pyjwt",
                 "psycopg2": "psycopg2-binary", "docx": "python-docx", "fitz": "pymupdf"}
fallback_note = ""  # set by the zygote when python:default runs on an older Python


def missing_library(exc: BaseException) -> str:
    """For an import of a library the runtime lacks: which one, and how to add it."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return ""
    library = exc.name.split(".")[0]
    version = ".".join(map(str, sys.version_info[:2]))
    package = DISTRIBUTIONS.get(library, library)
    return (f" (the action's runtime, Python {version}, has no `{library}`: if it is a "
            f"library, add a line `{package}` to a requirements.txt in the action's folder "
            "(beside its __main__.py; a single-file action becomes a folder), and streamwhisk "
            "installs it, as a deploy packages it)")


def load_failure(exc: BaseException) -> str:
    note = f" ({fallback_note})" if isinstance(exc, SyntaxError) and fallback_note else ""
    return (f"The action failed to load: {type(exc).__name__}: {exc}{missing_library(exc)}"
            f"{note}")


def main() -> None:
    channel = ResultChannel(int(sys.argv[1]))
    become_subreaper()
    first = sys.stdin.buffer.readline()  # a stem cell waits here until an action needs it
    if not first:
        return
    init = Init.decode(first)
    MemoryLimit(init.memory_mb).apply_backstop()
    resolve_localhost_names()
    try:
        entry = load_entry(init)
    except BaseException as exc:
        traceback.print_exc()
        channel.send(Ready(load_failure(exc)))
        return
    channel.send(Ready())
    activations = Activations(entry, init, channel)
    for line in sys.stdin.buffer:
        activations.submit(Run.decode(line))


if __name__ == "__main__":
    main()
