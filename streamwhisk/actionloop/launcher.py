"""The action loop inside a worker process: `python -m streamwhisk.actionloop.launcher FD`.

It starts, imports what it needs and waits for Init (so a prewarmed "stem cell" can be taken
by any action), loads the action (`loading.py`), then runs one activation per Run line,
announcing its stream connection (`streamwatch.py`) and sending its result (`results.py`);
the messages are in `messages.py`. Between activations it reaps the children the action left
behind; it is their subreaper too, so a daemon the action double-forks stays in its tree,
where the server's kill finds it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from .environ import ActivationEnviron
from .loading import Entry, describe, load_entry, load_failure
from .localnames import resolve_localhost_names
from .memory import MemoryLimit, leave_sigchld_to_the_main_thread
from .messages import Done, Init, Ready, Run
from .results import MAX_RESULT_BYTES, ResultChannel, ResultRefused, strict_json
from .streamwatch import StreamWatch

THREAD_STACK_BYTES = 2 * 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36
# What a send to a stream the client closed raises: the user pressed Stop, not a bug.
_STOPPED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


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
