"""Nothing outlives its run: each process a command starts is told to end when the command
ends, by Linux's parent-death signal (PR_SET_PDEATHSIG), which the kernel sends even when the
command is killed with SIGKILL.

The signal follows the *thread* that forked, so a process meant to live as long as the command
is started from a thread that does (the main thread, or a thread that waits for it).

`tied(command)` starts a command through `python -m streamwhisk.lifetime`, which asks for the
signal and then becomes the command (exec keeps it). That costs a small interpreter start, and
spares the parent a `preexec_fn`: Python code run between fork and exec in a process with
threads (gRPC's, in a test process that used pymilvus) can deadlock or abort the child.
`die_with_parent` is that `preexec_fn`, for a parent known to be single-threaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def ask_parent_death(parent: int, signum: int) -> None:
    """This process gets `signum` when its parent ends; a parent that ended before the ask
    (a race with the fork) ends this process at once."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` asking for `signum` at the parent's death (single-threaded parents)."""
    parent = os.getpid()
    return lambda: ask_parent_death(parent, signum)


def tied(command: list[str], signum: int = signal.SIGTERM) -> list[str]:
    """`command`, to be started so that it gets `signum` when this process ends."""
    return [sys.executable, "-m", "streamwhisk.lifetime", str(os.getpid()), str(int(signum)),
            "--", *command]


def main() -> None:
    parent, signum, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        sys.exit("usage: python -m streamwhisk.lifetime PARENT_PID SIGNAL -- COMMAND...")
    ask_parent_death(int(parent), int(signum))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
