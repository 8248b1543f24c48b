"""Worker processes on Linux: fork one from the zygote, know when it exits, kill its tree.

A worker runs in a session (and process group) of its own, and is the subreaper of what its
action starts, so everything the action forks stays in its tree while it lives. Killing
freezes the group and the tree first, so nothing forks its way out between the look and the
kill; a `setsid` escapee is found through the tree. What the action double-forked after the
worker itself died is beyond reach: Linux gives an unprivileged process no handle on it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import actionloop
from ..actionloop.tree import kill_tree
from ..actionloop.zygote import FALLBACK_NOTE, PID
from ..devca import trust_dev_ca
from .environments import RuntimeEnvironment

# What a worker inherits from the server; everything else (and every secret) stays out, as on
# a cluster, where an action sees only its parameters.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
             "STREAMWHISK_DEBUGGABLE")
# The zygote runs in the kind's environment, which does not hold streamwhisk: it imports the
# (standard-library-only) action loop from streamwhisk's folder, then takes that folder off
# sys.path, so actions see only their runtime's libraries (and the layer, first).
BOOTSTRAP = """import sys
home, layer = sys.argv[2], sys.argv[3]
sys.path.insert(0, home)
from streamwhisk.actionloop import zygote
sys.path.remove(home)
if layer:
    sys.path.insert(0, layer)
zygote.main()
"""
SOURCE_HOME = str(Path(actionloop.__file__).resolve().parent.parent.parent)


def worker_environment(runtime: RuntimeEnvironment) -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    # the runtime's own python and pip come first, as in the cluster's runtime image
    env["PATH"] = os.pathsep.join([str(runtime.root / "bin"), env.get("PATH", os.defpath)])
    env["VIRTUAL_ENV"] = str(runtime.root)
    env["MALLOC_ARENA_MAX"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    if runtime.kind.fallback:
        env[FALLBACK_NOTE] = runtime.kind.fallback_note()
    # the dev Ollama's https://, beside the CAs the server's user trusts (or the public ones)
    trust_dev_ca(env, os.environ)
    return env


@dataclass
class LauncherProcess:
    """A forked worker and our ends of its pipes, all non-blocking, and its pidfd."""

    pid: int
    stdin: int
    stdout: int
    stderr: int
    results: int
    pidfd: int
    closed: bool = field(default=False)

    def exited(self) -> bool:
        return bool(select.select([self.pidfd], [], [], 0)[0])

    def kill(self) -> None:
        """SIGKILL the worker, its process group and every descendant."""
        if not self.exited():
            kill_tree(self.pid)
        else:  # it died by itself: what it forked is still in its group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Close our ends of every pipe and the pidfd, now, not when collected."""
        if self.closed:
            return
        self.closed = True
        for fd in (self.stdin, self.stdout, self.stderr, self.results, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)


class Zygote:
    """The server's side of the fork server: boots it once, asks it for workers."""

    def __init__(self, runtime: RuntimeEnvironment) -> None:
        self.runtime = runtime
        self._popen: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Boot the fork server now, so the first cold start need not wait for it."""
        with self._lock:
            if self._popen is None or self._popen.poll() is not None:
                self._boot()

    def fork(self) -> LauncherProcess:
        """A new worker, waiting for Init. Blocks (on the zygote's boot, the first time)."""
        with self._lock:
            for _ in range(2):  # a zygote that died is booted again, once
                if self._popen is None or self._popen.poll() is not None:
                    self._boot()
                try:
                    return self._fork()
                except (OSError, ValueError):
                    self._stop()
            raise OSError("the worker fork server does not answer; see the log above")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _boot(self) -> None:
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._popen = subprocess.Popen(
                [self.runtime.python, "-I", "-u", "-c", BOOTSTRAP, str(theirs.fileno()),
                 SOURCE_HOME, str(self.runtime.layer or "")],
                stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                env=worker_environment(self.runtime), start_new_session=True, cwd="/")
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours

    def _fork(self) -> LauncherProcess:
        assert self._control is not None
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        results_r, results_w = os.pipe()
        ours = (stdin_w, stdout_r, stderr_r, results_r)
        try:
            socket.send_fds(self._control, [b"fork"], [stdin_r, stdout_w, stderr_w, results_w])
            reply = self._control.recv(PID.size)
            if len(reply) != PID.size:
                raise ValueError("the fork server closed its socket")
            pid = PID.unpack(reply)[0]
            pidfd = os.pidfd_open(pid)
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in (stdin_r, stdout_w, stderr_w, results_w):
                os.close(fd)
        for fd in ours:
            os.set_blocking(fd, False)
        return LauncherProcess(pid, stdin_w, stdout_r, stderr_r, results_r, pidfd)

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._popen is not None:
            with contextlib.suppress(ProcessLookupError):
                self._popen.kill()
            self._popen.wait()
            self._popen = None
