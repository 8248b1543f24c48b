"""One warm worker process that runs activations of one action through the action loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ActionCrashed, ActionTimedOut
from ..project import ActionSpec
from .activation import Activation

log = logging.getLogger("streamwhisk.action")

LAUNCHER = Path(__file__).with_name("launcher.py")
RESULT_LINE_LIMIT = 4 * 1024 * 1024
CRASHED = "The action did not produce a valid response and exited unexpectedly."
# What a worker inherits from the server; everything else (and every secret) stays out, as on
# a cluster, where an action sees only its parameters.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV")


class Worker:
    def __init__(
        self,
        spec: ActionSpec,
        redact: Callable[[str], str],
        on_free: Callable[[Worker], None],
    ) -> None:
        self.spec = spec
        self._redact = redact
        self._on_free = on_free
        self._process: asyncio.subprocess.Process | None = None
        self._results: asyncio.StreamReader | None = None
        self._pending: dict[str, Activation] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.alive = False
        self.idle_since = time.monotonic()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        """Spawn the process and load the action; a load error is the action's error."""
        read_fd, write_fd = os.pipe()
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env["MALLOC_ARENA_MAX"] = "2"
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-u", str(LAUNCHER), str(write_fd),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(write_fd,),
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        results = self._results = asyncio.StreamReader(limit=RESULT_LINE_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(results), os.fdopen(read_fd, "rb", 0)
        )
        assert self._process.stdout and self._process.stderr
        self._tasks = [
            asyncio.create_task(self._pump_logs(self._process.stdout, "stdout")),
            asyncio.create_task(self._pump_logs(self._process.stderr, "stderr")),
        ]
        self._send({
            "init": {
                "main_file": str(self.spec.main_file),
                "multi_file": self.spec.multi_file,
                "entry": self.spec.entry,
                "memory_mb": self.spec.limits.memory_mb,
                "concurrency": self.spec.limits.concurrency,
            }
        })
        try:
            answer = await asyncio.wait_for(
                self._results.readline(), self.spec.limits.timeout_ms / 1000
            )
        except TimeoutError:
            self.kill()
            raise ActionTimedOut(self.spec.limits.timeout_ms) from None
        reply = _decode(answer)
        if reply.get("ok") is not True:
            self.kill()
            raise ActionCrashed(self._redact(str(reply.get("error") or CRASHED)))
        self.alive = True
        self._tasks.append(asyncio.create_task(self._read_results()))

    def submit(self, activation: Activation) -> None:
        """Hand an activation to the process; its `result` future settles when it ends."""
        activation.worker_pid = self.pid
        self._pending[activation.activation_id] = activation
        loop = asyncio.get_running_loop()
        timer = loop.call_later(
            activation.timeout_ms / 1000, self._time_out, activation.activation_id
        )
        activation.result.add_done_callback(lambda _: timer.cancel())
        try:
            self._send(activation.message())
        except (BrokenPipeError, ConnectionResetError):
            self._fail_all(CRASHED)

    def kill(self) -> None:
        """SIGKILL the worker and whatever it spawned (its own session).

        Not `Process.kill()`: that polls first, which can reap the child behind asyncio's
        watcher and leave it reporting an unknown pid.
        """
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
        self.alive = False

    async def close(self) -> None:
        self.kill()
        if self._process is not None:
            await self._process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")

    def _time_out(self, activation_id: str) -> None:
        activation = self._pending.pop(activation_id, None)
        if activation is None:
            return
        # The only way to stop Python code that will not return is to stop its process.
        self.kill()
        _settle(activation, exc=ActionTimedOut(activation.timeout_ms))
        self._fail_all(CRASHED)

    async def _read_results(self) -> None:
        assert self._results is not None
        while True:
            try:
                line = await self._results.readline()
            except ValueError:  # a result line beyond RESULT_LINE_LIMIT
                self.kill()
                break
            if not line:
                break
            reply = _decode(line)
            if "stream_from" in reply:
                announced = self._pending.get(str(reply.get("activation_id")))
                if announced is not None and isinstance(reply["stream_from"], int):
                    announced.stream_sources.add(reply["stream_from"])
                continue
            activation = self._pending.pop(str(reply.get("activation_id")), None)
            if activation is None:
                continue
            if "result" in reply and isinstance(reply["result"], dict):
                _settle(activation, result=reply["result"])
            else:
                message = str(reply.get("error") or CRASHED)
                _settle(activation, exc=ActionCrashed(self._redact(message)))
            if not self._pending:
                self.idle_since = time.monotonic()
            self._on_free(self)
        self.alive = False
        self._fail_all(CRASHED)

    def _fail_all(self, message: str) -> None:
        pending, self._pending = self._pending, {}
        for activation in pending.values():
            _settle(activation, exc=ActionCrashed(message))
        self.alive = self.alive and self._process is not None and self._process.returncode is None
        self._on_free(self)

    async def _pump_logs(self, stream: asyncio.StreamReader, name: str) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # an over-long line: drop it, keep the pipe drained
                continue
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\n")
            log.info("%s[%s] %s: %s", self.spec.qualified, self.pid, name, self._redact(text))


def _decode(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _settle(
    activation: Activation, result: dict[str, Any] | None = None, exc: Exception | None = None
) -> None:
    if activation.result.done():
        return
    if exc is not None:
        activation.result.set_exception(exc)
    else:
        activation.result.set_result(result or {})
