"""Launcher processes on Linux: start one, know when it exits, kill it and all it started.

A launcher runs in a session (and process group) of its own, and is the subreaper of what
its action starts, so everything the action forks stays in its tree while it lives. Killing
freezes the group and the tree first, so nothing forks its way out between the look and the
kill; a `setsid` escapee is found through the tree. What the action double-forked after the
launcher itself died is beyond reach: Linux gives an unprivileged parent no handle on it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

LAUNCHER_MODULE = "streamwhisk.actionloop.launcher"
# What a worker inherits from the server; everything else (and every secret) stays out, as on
# a cluster, where an action sees only its parameters.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV")


def worker_environment() -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    env["MALLOC_ARENA_MAX"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class LauncherProcess:
    """A started launcher and our ends of its pipes; all descriptors are non-blocking."""

    popen: subprocess.Popen[bytes]
    results: int
    pidfd: int
    closed: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stdin(self) -> int:
        assert self.popen.stdin is not None
        return self.popen.stdin.fileno()

    @property
    def stdout(self) -> int:
        assert self.popen.stdout is not None
        return self.popen.stdout.fileno()

    @property
    def stderr(self) -> int:
        assert self.popen.stderr is not None
        return self.popen.stderr.fileno()

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def kill(self) -> None:
        """SIGKILL the launcher, its process group and every descendant."""
        if self.popen.returncode is None:
            kill_tree(self.pid)
        else:  # it died by itself: what it forked is still in its group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Close our ends of every pipe and the pidfd, now, not when collected."""
        if self.closed:
            return
        self.closed = True
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        for fd in (self.results, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)


def spawn(python: str = sys.executable, env: dict[str, str] | None = None) -> LauncherProcess:
    read_fd, write_fd = os.pipe()
    try:
        popen = subprocess.Popen(
            [python, "-P", "-u", "-m", LAUNCHER_MODULE, str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(write_fd,), env=env if env is not None else worker_environment(),
            start_new_session=True, cwd="/",
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    pidfd = os.pidfd_open(popen.pid)
    for fd in (read_fd, popen.stdin, popen.stdout, popen.stderr):
        os.set_blocking(fd if isinstance(fd, int) else fd.fileno(), False)  # type: ignore[union-attr]
    return LauncherProcess(popen, read_fd, pidfd)


def descendants(root: int) -> list[int]:
    """Every live process below `root`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_tree(pid: int) -> None:
    for sender, signum in ((os.killpg, signal.SIGSTOP), (os.kill, signal.SIGSTOP)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            sender(pid, signum)
    tree = descendants(pid)
    for child in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGSTOP)
    tree = sorted(set(tree) | set(descendants(pid)))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for target in [pid, *tree]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)
