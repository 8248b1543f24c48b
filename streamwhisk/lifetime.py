"""Nothing outlives its run: each process a command starts is told to end when the command's
thread that started it ends, by Linux's parent-death signal (PR_SET_PDEATHSIG), which the
kernel sends even when the command is killed with SIGKILL.

The signal follows the *thread* that forked, so a process meant to live as long as the command
is started from a thread that does (the main thread, or a thread that waits for it)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `signum` when its parent ends; a parent that ended
    before the child could ask (a race with the fork) ends the child at once."""
    parent = os.getpid()

    def ask() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return ask
