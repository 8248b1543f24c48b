"""A process tree: found through /proc, killed whole. Standard library only: the server's
runtime and the fork server (in the action's interpreter) both use it.

Killing stops every process of the tree first (SIGSTOP), so that nothing forks its way out
between the look and the kill, then looks again and kills them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def children(pid: int) -> list[int]:
    """The live children of `pid`: those of each of its threads (each thread has its own)."""
    found: list[int] = []
    try:
        listings = list(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:  # it exited: Python 3.11's glob raises where 3.12's finds nothing
        return []
    for listing in listings:
        try:
            found += [int(p) for p in listing.read_text().split()]
        except OSError:  # it exited meanwhile
            continue
    return found


def descendants(root: int) -> list[int]:
    """Every live process below `root`."""
    found: list[int] = []
    queue = [root]
    while queue:
        below = children(queue.pop())
        found += below
        queue += below
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
