"""The fork server: one per runtime environment, started by `runtime.processes.Zygote`.

It starts the interpreter and imports the action loop (and the libraries most actions use)
once, then forks a worker for each request, as OpenWhisk keeps prewarmed "stem cell"
containers: a cold start then costs a fork, not an interpreter's start-up. Each request on
the control socket carries the worker's four pipe ends (stdin, stdout, stderr, result); the
answer is the worker's pid. The zygote reaps its workers when they exit; the server watches
them through pidfds.

A worker is the subreaper of what its action starts, and the zygote is the subreaper of its
workers: when a worker dies on its own (an `os._exit`, the memory limit), what its action left
running (a `setsid` daemon, a double fork) comes to the zygote instead of to init, and the
zygote kills it at once. Any child of the zygote that is not a worker is such an orphan.
When the server goes away (stopped, or killed with SIGKILL: its end of the control socket
closes either way), the zygote kills every worker's tree and what comes to it as they die,
and only then exits: nothing an action started outlives the run.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import socket
import struct
import sys
import time

from . import launcher, loading
from .confine import confine_worker, not_dumpable, own_user_namespace
from .tree import children, kill_tree

RESULT_FD = 3
PID = struct.Struct("!i")
PRELOADED = ("requests",)  # what chat actions import, when the interpreter has it
# set by the server when python:default runs on an older Python than the cluster's
FALLBACK_NOTE = "STREAMWHISK_FALLBACK_NOTE"


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    loading.note_fallback(os.environ.pop(FALLBACK_NOTE, ""))  # for us, not the action
    own_user_namespace()  # first: it needs this process still single-threaded
    not_dumpable()
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    launcher.become_subreaper()
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    # the collector must not touch what every worker shares, or copy-on-write copies it
    gc.freeze()
    try:
        _serve(control)
    finally:
        _end_everything()


def _serve(control: socket.socket) -> None:
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 4)
        except ConnectionError:
            return
        if not message:
            return  # the server is gone (stopped, or killed)
        # no reaping between the fork and the worker's entry, or it would look like an orphan
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            _become_worker(control, fds)
        _workers.add(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        for fd in fds:
            os.close(fd)
        control.send(PID.pack(pid))


_workers: set[int] = set()


def _reap() -> None:
    """Collect the workers that exited, and kill the trees of whatever they left behind."""
    _workers.difference_update(launcher.reap_children())
    for orphan in set(children(os.getpid())) - _workers:
        kill_tree(orphan)
    _workers.difference_update(launcher.reap_children())


def _end_everything(within_s: float = 3.0) -> None:
    """The server is gone: kill every worker's tree, and whatever comes to this subreaper
    as those die (a daemon whose parent was just killed), until nothing is left."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        left = children(os.getpid())
        if not left:
            return
        for child in left:
            kill_tree(child)
        launcher.reap_children()
        time.sleep(0.01)


def _become_worker(control: socket.socket, fds: list[int]) -> None:
    """In the forked child: take the pipes as fds 0, 1, 2 and 3 and run the action loop."""
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.setsid()
        confine_worker()
        for target, fd in zip((0, 1, 2, RESULT_FD), fds, strict=True):
            os.dup2(fd, target)
        for fd in fds:
            if fd not in (0, 1, 2, RESULT_FD):
                os.close(fd)
        sys.argv = [launcher.__file__, str(RESULT_FD)]
        launcher.main()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
