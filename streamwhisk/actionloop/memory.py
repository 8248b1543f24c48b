"""An action's memory limit, counted as a container's cgroup counts it: resident memory.

OpenWhisk gives each action a container of `#--memory` MB and kills it when its resident
memory passes that. An address-space limit (RLIMIT_AS) is no substitute: libraries reserve
address space they never touch (the cluster runtime's common libraries take 275 MB of it, 140
MB resident, on import), so a limit on it refuses actions the cluster runs. Here the worker
checks its peak resident size when each activation ends, and a watcher samples it while
activations run; past the limit, the activations in flight end with an out-of-memory error
and the worker exits, as the container would be killed. An address-space limit stays, far
above the memory limit, only as a backstop against an allocation that would swamp the machine
before a sample sees it. Memory of processes the action starts is not counted.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from collections.abc import Callable

MIB = 1024 * 1024
SAMPLE_EVERY_S = 0.25
BACKSTOP_EXTRA_BYTES = 2048 * MIB
_PAGE = os.sysconf("SC_PAGE_SIZE")


class MemoryLimit:
    def __init__(self, limit_mb: int) -> None:
        self.limit_mb = limit_mb
        self.limit = limit_mb * MIB
        self._busy = threading.Event()

    def apply_backstop(self) -> None:
        backstop = max(4 * self.limit, self.limit + BACKSTOP_EXTRA_BYTES)
        resource.setrlimit(resource.RLIMIT_AS, (backstop, backstop))

    def message(self) -> str:
        return (f"The action ran out of memory: its resident memory passed its limit of "
                f"{self.limit_mb} MB (#--memory).")

    def peak_exceeded(self) -> bool:
        """Whether the peak resident size so far passed the limit (one system call)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 > self.limit

    def busy(self, running: bool) -> None:
        """The watcher samples only while activations run."""
        if running:
            self._busy.set()
        else:
            self._busy.clear()

    def watch(self, exceeded: Callable[[], None]) -> None:
        """Sample resident memory in a daemon thread; call `exceeded` once when it passes."""
        def sample() -> None:
            leave_sigchld_to_the_main_thread()
            with open("/proc/self/statm", "rb") as statm:
                while True:
                    self._busy.wait()
                    statm.seek(0)
                    if int(statm.read().split()[1]) * _PAGE > self.limit:
                        exceeded()
                        return
                    time.sleep(SAMPLE_EVERY_S)

        threading.Thread(target=sample, name="memory-limit", daemon=True).start()


def leave_sigchld_to_the_main_thread() -> None:
    """Block SIGCHLD in the calling thread. The worker reaps its action's children from a
    SIGCHLD handler, which Python runs in the main thread; a SIGCHLD the kernel gives to
    another thread while the main one waits for its next request would wait with it, and the
    children would stay zombies until then."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
