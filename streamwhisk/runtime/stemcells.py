"""Prewarmed launchers, as OpenWhisk keeps prewarmed "stem cell" containers.

A launcher starts its interpreter and imports the action loop before it knows its action,
then waits for Init; so a cold start takes one that is already waiting and only loads the
action's code. Taking one starts a replacement in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque

from .processes import LauncherProcess, spawn

log = logging.getLogger("streamwhisk.runtime")

DEFAULT_STEM_CELLS = 2


class StemCells:
    def __init__(self, count: int = DEFAULT_STEM_CELLS) -> None:
        self.count = count
        self._ready: deque[LauncherProcess] = deque()
        self._lock = threading.Lock()
        self._refilling: asyncio.Future[None] | None = None
        self._closed = False

    def take(self) -> LauncherProcess:
        """A waiting launcher, or a new one when none is left."""
        with self._lock:
            while self._ready:
                cell = self._ready.popleft()
                if not cell.exited():
                    break
                cell.close()
            else:
                cell = None
        self.refill()
        return cell if cell is not None else spawn()

    def refill(self) -> None:
        if self._closed or self.count == 0:
            return
        if self._refilling is None or self._refilling.done():
            self._refilling = asyncio.get_running_loop().run_in_executor(None, self._fill)

    def _fill(self) -> None:
        while not self._closed:
            with self._lock:
                if len(self._ready) >= self.count:
                    return
            try:
                cell = spawn()
            except OSError as exc:
                log.warning("could not prewarm a worker: %s", exc)
                return
            with self._lock:
                if self._closed:
                    cell.kill()
                    cell.close()
                    return
                self._ready.append(cell)

    async def close(self) -> None:
        self._closed = True
        if self._refilling is not None:
            with contextlib.suppress(Exception):
                await self._refilling
        with self._lock:
            cells, self._ready = list(self._ready), deque()
        for cell in cells:
            cell.kill()
            cell.popen.wait()
            cell.close()
