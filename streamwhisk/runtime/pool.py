"""The warm workers of one action: reused, grown under load up to a maximum, queue bounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from ..errors import Overloaded
from ..project import ActionSpec
from ..redact import Redactor
from .activation import Activation
from .processes import Zygote
from .worker import Worker

log = logging.getLogger("streamwhisk.runtime")


@dataclass(frozen=True)
class PoolSettings:
    # A streaming chat holds its worker for minutes, so a pool must allow many at once.
    max_workers: int = 32
    queue_size: int = 64
    idle_timeout_s: float = 600.0


class ActionPool:
    def __init__(self, spec: ActionSpec, settings: PoolSettings,
                 redact: Redactor, zygote: Zygote) -> None:
        self.spec = spec
        self.settings = settings
        self._redact = redact
        self._zygote = zygote
        self._workers: list[Worker] = []
        self._starting = 0
        self._waiting = 0
        self._changed = asyncio.Condition()
        self._retired = False
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def workers(self) -> list[Worker]:
        return list(self._workers)

    async def dispatch(self, activation: Activation) -> None:
        """Give the activation to a worker with room, starting one if the pool may grow."""
        worker = await self._acquire(activation)
        worker.submit(activation)

    async def _acquire(self, activation: Activation) -> Worker:
        queued = False
        try:
            while True:
                worker = self._free_worker()
                if worker is not None:
                    return worker
                if len(self._workers) + self._starting < self.settings.max_workers:
                    return await self._start_worker(activation.deadline)
                if not queued:
                    # a starting worker takes `concurrency` activations, one of them its
                    # starter's: a burst that fits the rest waits for it, not in the queue
                    spare = self._starting * (self.spec.limits.concurrency - 1)
                    if self._waiting >= self.settings.queue_size + spare:
                        raise Overloaded(self.spec.qualified)
                    self._waiting += 1
                    queued = True
                remaining = activation.remaining_s()
                if remaining <= 0:
                    raise Overloaded(self.spec.qualified)
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), remaining)
        finally:
            if queued:
                self._waiting -= 1

    def _free_worker(self) -> Worker | None:
        limit = self.spec.limits.concurrency
        candidates = [w for w in self._workers if w.alive and w.in_flight < limit]
        # the busiest one with room: keeps the others idle so the reaper can retire them
        return max(candidates, key=lambda w: w.in_flight, default=None)

    async def _start_worker(self, deadline: float) -> Worker:
        self._starting += 1
        worker = Worker(self.spec, self._redact, self._worker_changed, self._zygote)
        try:
            await worker.start(deadline)
        except BaseException:
            await worker.close()
            raise
        finally:
            self._starting -= 1
            self._notify()
        self._workers.append(worker)
        return worker

    def _worker_changed(self, worker: Worker) -> None:
        if not worker.alive or (self._retired and worker.in_flight == 0):
            self._remove(worker)
        self._notify()

    def _remove(self, worker: Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        task = asyncio.get_running_loop().create_task(worker.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _notify(self) -> None:
        if not self._waiting:
            return  # nobody waits for a worker: skip the task on the hot path

        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(wake())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def reap_idle(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            if worker.in_flight == 0 and now - worker.idle_since > self.settings.idle_timeout_s:
                self._remove(worker)

    def retire(self) -> None:
        """Stop taking work: idle workers go now, busy ones when their activations end."""
        self._retired = True
        for worker in self.workers:
            if worker.in_flight == 0 or not worker.alive:
                self._remove(worker)

    async def close(self) -> None:
        for worker in self.workers:
            self._remove(worker)
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
