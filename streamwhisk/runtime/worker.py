"""One warm worker process that runs activations of one action through the action loop.

Faults answer at once, never at the timeout: the process is watched through a pidfd, so its
death is seen even while a forked child still holds its pipes (what it wrote before dying is
read first); a line on the result fd that is not an action-loop message is a crash of the
activations in flight. Either way the process tree is killed and every descriptor closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from ..actionloop.messages import Done, Init, ProtocolViolation, Ready, StreamFrom, decode_reply
from ..errors import ActionCrashed, ActionTimedOut
from ..project import ActionSpec
from ..redact import Redactor
from .activation import Activation
from .logs import ActionLogs
from .processes import LauncherProcess, Zygote

log = logging.getLogger("streamwhisk.runtime")

RESULT_LINE_LIMIT = 4 * 1024 * 1024
READ_BYTES = 256 * 1024
CRASHED = "The action did not produce a valid response and exited unexpectedly."


class Worker:
    def __init__(self, spec: ActionSpec, redact: Redactor,
                 on_free: Callable[[Worker], None], zygote: Zygote) -> None:
        self.spec = spec
        self._redact = redact
        self._on_free = on_free
        self._zygote = zygote
        self._process: LauncherProcess | None = None
        self._outbox = b""  # what the worker's stdin pipe could not take yet
        self._results = b""
        self._pending: dict[str, Activation] = {}
        self._ready: asyncio.Future[str | None] | None = None
        self._gone: asyncio.Future[None] | None = None
        self._logs = ActionLogs(lambda: f"{spec.qualified}[{self.pid}]",
                                spec.limits.logs_mb * 1024 * 1024, redact, self._note_line)
        self.alive = False
        self.cold_start_ms: int | None = None  # until its first activation: its start
        self.idle_since = time.monotonic()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def start(self, deadline: float) -> None:
        """Fork a worker and load the action; a load error is the action's error."""
        loop = asyncio.get_running_loop()
        self._ready, self._gone = loop.create_future(), loop.create_future()
        process = self._process = await loop.run_in_executor(None, self._zygote.fork)
        loop.add_reader(process.results, self._read_results)
        loop.add_reader(process.stdout, self._read_logs, process.stdout, "stdout")
        loop.add_reader(process.stderr, self._read_logs, process.stderr, "stderr")
        loop.add_reader(process.pidfd, self._exited)
        limits = self.spec.limits
        self._send(Init(main_file=str(self.spec.main_file), multi_file=self.spec.multi_file,
                        entry=self.spec.entry, memory_mb=limits.memory_mb,
                        concurrency=limits.concurrency).encode())
        try:
            error = await asyncio.wait_for(asyncio.shield(self._ready),
                                           max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.kill()
            raise ActionTimedOut(limits.timeout_ms) from None
        if error is not None:
            self.kill()
            raise ActionCrashed(self._redact(error))
        self.alive = True

    def submit(self, activation: Activation) -> None:
        """Hand an activation to the process; its `result` future settles when it ends."""
        self._pending[activation.activation_id] = activation
        timer = asyncio.get_running_loop().call_later(
            activation.remaining_s(), self._time_out, activation.activation_id)
        activation.result.add_done_callback(lambda _: timer.cancel())
        self._send(activation.message().encode())

    def kill(self) -> None:
        """SIGKILL the worker and whatever it spawned; `_exited` then cleans up."""
        if self._process is not None and not self._process.closed:
            self._process.kill()
        self.alive = False

    async def close(self) -> None:
        self.kill()
        if self._process is not None and self._gone is not None:
            await self._gone  # `_exited` resolves it once the process is gone

    def _send(self, line: bytes) -> None:
        process = self._process
        if process is None or process.closed:
            self._crashed(CRASHED)
            return
        if self._outbox:
            self._outbox += line
            return
        self._outbox = line
        self._write_stdin()

    def _write_stdin(self) -> None:
        process = self._process
        assert process is not None
        loop = asyncio.get_running_loop()
        try:
            written = os.write(process.stdin, self._outbox)
        except BlockingIOError:
            written = 0
        except OSError:  # it is gone: `_exited` answers for it
            self._outbox = b""
            loop.remove_writer(process.stdin)
            return
        self._outbox = self._outbox[written:]
        if self._outbox:
            loop.add_writer(process.stdin, self._write_stdin)
        else:
            loop.remove_writer(process.stdin)

    def _time_out(self, activation_id: str) -> None:
        activation = self._pending.pop(activation_id, None)
        if activation is None:
            return
        # The only way to stop Python code that will not return is to stop its process.
        _settle(activation, exc=ActionTimedOut(activation.timeout_ms))
        self._crashed(CRASHED)

    def _read_results(self) -> None:
        assert self._process is not None
        while True:
            data = _read_some(self._process.results)
            if data is None:
                return
            if not data:  # the launcher closed its result fd: nothing more can come
                asyncio.get_running_loop().remove_reader(self._process.results)
                self._crashed(CRASHED)
                return
            self._results += data
            *lines, self._results = self._results.split(b"\n")
            try:
                if len(self._results) > RESULT_LINE_LIMIT:
                    raise ProtocolViolation(f"a line over {RESULT_LINE_LIMIT} bytes")
                for line in lines:
                    self._handle(decode_reply(line))
            except ProtocolViolation as exc:
                log.error("%s[%s] wrote on its result channel what the action loop does not "
                          "allow (%s); it is stopped", self.spec.qualified, self.pid, exc)
                self._crashed(CRASHED)
                return

    def _handle(self, reply: Ready | StreamFrom | Done) -> None:
        if isinstance(reply, Ready):
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(reply.error)
            return
        if isinstance(reply, StreamFrom):
            announced = self._pending.get(reply.activation_id)
            if announced is not None:
                announced.on_stream_from(reply.port)
            return
        if reply.ending:
            self.alive = False  # it exits now: nothing more goes to it (its pidfd says when)
        activation = self._pending.get(reply.activation_id)
        if activation is None:
            return
        self._drain_logs()  # what it printed before returning is in the pipes by now
        self._logs.activation_ended()
        del self._pending[reply.activation_id]
        if reply.error is None:
            _settle(activation, result=reply.result)
        else:
            _settle(activation, exc=ActionCrashed(self._redact(reply.error)))
        if not self._pending:
            self.idle_since = time.monotonic()
        self._on_free(self)

    def _note_line(self, stream: str, text: str) -> None:
        """A line for the records of the activations running (with `limits.concurrency` > 1,
        the worker's lines belong to each of them)."""
        for activation in self._pending.values():
            if activation.captured is not None:
                activation.captured.log_line(stream, text)

    def _read_logs(self, fd: int, stream: str) -> bool:
        """One read; True when there may be more."""
        data = _read_some(fd)
        if data is None:
            return False
        if not data:
            asyncio.get_running_loop().remove_reader(fd)
            return False
        self._logs.feed(stream, data)
        return True

    def _drain_logs(self) -> None:
        process = self._process
        assert process is not None
        for fd, stream in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            with contextlib.suppress(OSError):
                while self._read_logs(fd, stream):
                    pass

    def _exited(self) -> None:
        """The process is gone: read what it wrote, answer what is pending, close it all."""
        process = self._process
        assert process is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(process.pidfd)
        if not process.closed:
            self._read_results()
            self._drain_logs()
        self._logs.flush()
        self._crashed(CRASHED)
        for fd in (process.results, process.stdout, process.stderr):
            with contextlib.suppress(ValueError, OSError):
                loop.remove_reader(fd)
        loop.remove_writer(process.stdin)
        self._outbox = b""
        process.close()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(CRASHED)
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    def _crashed(self, message: str) -> None:
        """Answer every pending activation with `message` and kill the process."""
        self.kill()
        pending, self._pending = self._pending, {}
        for activation in pending.values():
            _settle(activation, exc=ActionCrashed(message))
        self._on_free(self)


def _read_some(fd: int) -> bytes | None:
    """What a non-blocking pipe holds: None if nothing yet, b"" once it is closed or broken."""
    try:
        return os.read(fd, READ_BYTES)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _settle(activation: Activation, result: dict[str, object] | None = None,
            exc: Exception | None = None) -> None:
    if activation.result.done():
        return
    if exc is not None:
        activation.result.set_exception(exc)
    else:
        activation.result.set_result(result or {})
