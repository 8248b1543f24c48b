"""The action loop inside a worker process (stdlib only, so a cold start stays fast).

Protocol, one JSON object per line:
  stdin  <- {"init": {...}}             once: load the code, answer on the result fd
  stdin  <- {"activation_id": ..., "value": {...}, ...}   one per activation
  fd N   -> {"ok": true} | {"error": "..."}                 the answer to init
  fd N   -> {"activation_id": ..., "result": {...}} | {"activation_id": ..., "error": "..."}
  fd N   -> {"activation_id": ..., "stream_from": port}   before the action connects to its
            STREAM_HOST:STREAM_PORT: the local port it connects from (see StreamWatch)
The result fd is not stdout, so an action's `print` can never corrupt a result: stdout and
stderr are the action's logs.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import resource
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, TextIO

Entry = Callable[[dict[str, Any]], Any]
MAX_RESULT_BYTES = 1024 * 1024
THREAD_STACK_BYTES = 2 * 1024 * 1024


class ResultChannel:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


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


def load_entry(init: dict[str, Any]) -> Entry:
    main_file: str = init["main_file"]
    folder = os.path.dirname(main_file)
    os.chdir(folder)
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's project
    if init["multi_file"]:
        # a multi-file action imports its sibling modules, as in an OpenWhisk zip action
        sys.path_hooks.insert(0, source_only_hook(folder))
        sys.path.insert(0, folder)
    loader = SourceOnlyLoader("main__", main_file)
    spec = importlib.util.spec_from_file_location("main__", main_file, loader=loader)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {main_file}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    entry = getattr(module, init["entry"], None)
    if not callable(entry):
        raise AttributeError(f"the action has no function {init['entry']}(args)")
    return entry  # type: ignore[no-any-return]


def run(entry: Entry, message: dict[str, Any], channel: ResultChannel,
        streams: StreamWatch) -> None:
    activation_id = message["activation_id"]
    stream_port = streams.expect(message["value"], activation_id)
    try:
        _run(entry, message, channel)
    finally:
        streams.forget(stream_port)


def _run(entry: Entry, message: dict[str, Any], channel: ResultChannel) -> None:
    activation_id = message["activation_id"]
    for key in ("action_name", "activation_id", "deadline", "namespace", "api_host"):
        os.environ[f"__OW_{key.upper()}"] = str(message.get(key, ""))
    if message.get("api_key"):
        os.environ["__OW_API_KEY"] = message["api_key"]
    else:
        os.environ.pop("__OW_API_KEY", None)
    try:
        result = entry(message["value"])
        if not isinstance(result, dict):
            raise TypeError(
                f"The action did not return a dictionary (it returned {type(result).__name__})."
            )
        encoded = json.dumps(result, ensure_ascii=False)
        if len(encoded.encode()) > MAX_RESULT_BYTES:
            raise ValueError(
                f"The action produced a result over {MAX_RESULT_BYTES} bytes; stream large output."
            )
    except MemoryError:
        channel.send({"activation_id": activation_id, "error": "The action ran out of memory."})
        return
    except BaseException as exc:
        traceback.print_exc()
        sys.stderr.flush()
        channel.send({"activation_id": activation_id, "error": describe(exc)})
        return
    channel.send({"activation_id": activation_id, "result": json.loads(encoded)})


class StreamWatch:
    """Announces where an activation's stream connection will come from.

    The relay listens on 127.0.0.1, where any local process can connect. An audit hook sees
    each `socket.connect` to an activation's STREAM_HOST:STREAM_PORT, binds the socket to a
    local port first, and reports that port on the result channel before the connection is
    made, so the relay can keep this connection and refuse strangers.
    """

    def __init__(self, channel: ResultChannel) -> None:
        self._channel = channel
        self._streams: dict[int, tuple[str, str]] = {}  # stream port -> (host, activation id)

    def expect(self, value: dict[str, Any], activation_id: str) -> int | None:
        host, port = value.get("STREAM_HOST"), value.get("STREAM_PORT")
        if not isinstance(host, str) or not str(port).isdigit():
            return None
        self._streams[int(str(port))] = (host, activation_id)
        return int(str(port))

    def forget(self, port: int | None) -> None:
        if port is not None:
            self._streams.pop(port, None)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "socket.connect" or not self._streams:
            return
        sock, address = args
        if not isinstance(address, tuple) or len(address) < 2:
            return
        expected = self._streams.get(address[1])
        if expected is None or address[0] not in (expected[0], "localhost"):
            return
        try:
            if sock.getsockname()[1] == 0:
                sock.bind((expected[0], 0))
            self._channel.send({"activation_id": expected[1],
                                "stream_from": sock.getsockname()[1]})
        except OSError:
            pass  # the connect that follows reports the problem to the action


def describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"The action exited (sys.exit({exc.code!r})) instead of returning a result."
    if isinstance(exc, TypeError) and str(exc).startswith("The action"):
        return str(exc)
    return f"An error has occurred: {type(exc).__name__}: {exc}"


def main() -> None:
    channel = ResultChannel(os.fdopen(int(sys.argv[1]), "w", encoding="utf-8"))
    init = json.loads(sys.stdin.readline())["init"]
    memory = init["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        entry = load_entry(init)
    except BaseException as exc:
        traceback.print_exc()
        channel.send({"error": f"The action failed to load: {type(exc).__name__}: {exc}"})
        return
    channel.send({"ok": True})
    streams = StreamWatch(channel)
    sys.addaudithook(streams)
    concurrency: int = init["concurrency"]
    if concurrency > 1:
        # many threads under an address-space limit: 8 MiB default stacks would eat it
        threading.stack_size(THREAD_STACK_BYTES)
    executor = ThreadPoolExecutor(concurrency) if concurrency > 1 else None
    for line in sys.stdin:
        message = json.loads(line)
        if executor is None:
            run(entry, message, channel, streams)
        else:
            executor.submit(run, entry, message, channel, streams)


if __name__ == "__main__":
    main()
