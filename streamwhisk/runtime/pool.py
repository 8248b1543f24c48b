"""The warm workers of one action: reused, grown when a new one pays, queue bounded and fair.

A request takes a warm worker with room at once. Otherwise it waits in line, first come first
served: each slot a worker frees goes to the oldest waiter, handed over directly (no herd of
waiters woken to race for it). The pool grows while a new worker pays for itself: when the
line, at the pace the workers have been finishing activations, would wait longer than a cold
start costs. So a short action under a burst is served by a few warm workers, not by a fork
per waiting request, and a long one (a chat that streams for minutes) gets a worker per user
at once. How many run follows the machine: activations that take under 50 ms keep the CPU
busy, so twice as many workers as cores serve them (more would only take turns on the cores,
and each costs its memory); longer ones mostly wait (for an LLM, the network), so they get up
to `max_workers`; and never more than the memory the machine has for the action's `#--memory`.
At most two start at a time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
from dataclasses import dataclass

from ..errors import Overloaded, StreamwhiskError
from ..project import ActionSpec
from ..redact import Redactor
from .activation import Activation
from .processes import Zygote
from .worker import Worker

log = logging.getLogger("streamwhisk.runtime")

STARTS_AT_ONCE = 2  # forks are serialised by the fork server: more would only wait there
SMOOTHING = 0.2  # weight of the newest sample in the running averages
FIRST_START_COST_S = 0.01  # what a cold start is taken to cost until one is measured
LONG_ACTIVATION_S = 0.05  # beyond it, an activation mostly waits rather than computes
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class PoolSettings:
    # A streaming chat holds its worker for minutes, so a pool must allow many at once.
    max_workers: int = 32
    queue_size: int = 1000
    idle_timeout_s: float = 600.0


@dataclass
class _Waiter:
    activation: Activation
    served: asyncio.Future[None]


class ActionPool:
    def __init__(self, spec: ActionSpec, settings: PoolSettings,
                 redact: Redactor, zygote: Zygote) -> None:
        self.spec = spec
        self.settings = settings
        self._redact = redact
        self._zygote = zygote
        self._workers: list[Worker] = []
        self._starting = 0
        self._line: collections.deque[_Waiter] = collections.deque()
        self._running: dict[str, float] = {}  # activation id: when it was handed over
        self._duration_s: float | None = None  # activations' running average
        self._start_cost_s = FIRST_START_COST_S
        self._cap = min(settings.max_workers, _fits_in_memory(spec.limits.memory_mb))
        self._retired = False
        self._closing: set[asyncio.Task[None]] = set()
        self._recheck: asyncio.TimerHandle | None = None

    @property
    def workers(self) -> list[Worker]:
        return list(self._workers)

    async def dispatch(self, activation: Activation) -> None:
        """Give the activation to a worker with room now, or wait in line for one."""
        if not self._line:
            worker = self._free_worker()
            if worker is not None:
                self._hand(worker, activation)
                return
        loop = asyncio.get_running_loop()
        waiter = _Waiter(activation, loop.create_future())
        self._line.append(waiter)
        self._grow()
        # a starting worker takes `concurrency` waiters: a burst that fits the workers being
        # started waits for them, not in the queue
        if len(self._line) - self._starting * self.spec.limits.concurrency > \
                self.settings.queue_size:
            self._line.remove(waiter)
            raise Overloaded(self.spec.qualified)
        # a timer, not wait_for: nearly every request waits in line under load, and wait_for
        # costs a task of its own each time
        expiry = loop.call_at(loop.time() + activation.remaining_s(), self._expire, waiter)
        try:
            await waiter.served
        except asyncio.CancelledError:
            if waiter in self._line:  # the client went away while it waited
                self._line.remove(waiter)
            raise
        finally:
            expiry.cancel()

    def _expire(self, waiter: _Waiter) -> None:
        """Its deadline came before a worker did: out of the line, and a 503."""
        if not waiter.served.done():
            self._line.remove(waiter)
            waiter.served.set_exception(Overloaded(self.spec.qualified))

    def _free_worker(self) -> Worker | None:
        limit = self.spec.limits.concurrency
        candidates = [w for w in self._workers if w.alive and w.in_flight < limit]
        # the busiest one with room: keeps the others idle so the reaper can retire them
        return max(candidates, key=lambda w: w.in_flight, default=None)

    def _hand(self, worker: Worker, activation: Activation) -> None:
        activation.handed = now = time.monotonic()
        if worker.cold_start_ms is not None:  # its first: it waited for the worker to start
            activation.init_ms, worker.cold_start_ms = worker.cold_start_ms, None
        self._running[activation.activation_id] = now
        activation.result.add_done_callback(lambda _: self._ended(activation.activation_id))
        worker.submit(activation)

    def _ended(self, activation_id: str) -> None:
        began = self._running.pop(activation_id, None)
        if began is not None:
            self._duration_s = _averaged(self._duration_s, time.monotonic() - began)

    def _serve_line(self) -> None:
        """Each free slot to the oldest waiter, in order."""
        while self._line:
            worker = self._free_worker()
            if worker is None:
                break
            waiter = self._line.popleft()
            if waiter.served.done():
                continue  # it gave up (its deadline) meanwhile
            self._hand(worker, waiter.activation)
            waiter.served.set_result(None)
        self._grow()

    def _grow(self) -> None:
        while (self._line and not self._retired and self._starting < STARTS_AT_ONCE
               and len(self._workers) + self._starting < self._limit()
               and self._worth_a_worker()):
            self._starting += 1
            task = asyncio.get_running_loop().create_task(self._start_worker())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if self._line and self._recheck is None and not self._retired:
            # what the running activations have taken grows while they run: a line not worth
            # a worker now may be soon (the second user of a chat that streams for minutes)
            self._recheck = asyncio.get_running_loop().call_later(self._start_cost_s,
                                                                  self._grow_again)

    def _grow_again(self) -> None:
        self._recheck = None
        self._grow()

    def _pace_s(self) -> float:
        """How long an activation takes: the running average, or longer when the ones
        running now have all taken longer already."""
        now = time.monotonic()
        youngest = min((now - began for began in self._running.values()), default=0.0)
        return max(self._duration_s or 0.0, youngest)

    def _limit(self) -> int:
        if self._pace_s() < LONG_ACTIVATION_S:
            return min(self._cap, 2 * CORES)
        return self._cap

    def _worth_a_worker(self) -> bool:
        """Whether the line, at the workers' pace, would wait longer than a cold start."""
        concurrency = self.spec.limits.concurrency
        uncovered = len(self._line) - self._starting * concurrency
        if uncovered <= 0:
            return False
        slots = sum(concurrency for w in self._workers if w.alive)
        return slots == 0 or self._pace_s() * uncovered / slots > self._start_cost_s

    async def _start_worker(self) -> None:
        began = time.monotonic()
        worker = Worker(self.spec, self._redact, self._worker_changed, self._zygote)
        head = self._line[0].activation if self._line else None
        try:
            await worker.start(head.deadline if head else began + 60)
        except BaseException as exc:
            await worker.close()
            self._starting -= 1
            if not isinstance(exc, StreamwhiskError | OSError):
                raise  # cancelled: the pool is closing
            self._fail_oldest(exc)
            return
        self._starting -= 1
        took = time.monotonic() - began
        self._start_cost_s = _averaged(self._start_cost_s, took)
        worker.cold_start_ms = round(took * 1000)
        self._workers.append(worker)
        self._serve_line()

    def _fail_oldest(self, exc: Exception) -> None:
        """A worker that could not start (the action does not load): the waiter it was for
        hears why; the next waiters get a start of their own."""
        while self._line:
            waiter = self._line.popleft()
            if not waiter.served.done():
                waiter.served.set_exception(exc)
                break
        self._grow()

    def _worker_changed(self, worker: Worker) -> None:
        if not worker.alive or (self._retired and worker.in_flight == 0):
            self._remove(worker)
        self._serve_line()

    def _remove(self, worker: Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        task = asyncio.get_running_loop().create_task(worker.close())
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
        if self._recheck is not None:
            self._recheck.cancel()
        for worker in self.workers:
            self._remove(worker)
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)


def _averaged(average: float | None, sample: float) -> float:
    return sample if average is None else average + SMOOTHING * (sample - average)


def _fits_in_memory(memory_mb: int) -> int:
    """How many workers of `memory_mb` the machine's available memory holds (at least 1)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as meminfo:
            line = next(line for line in meminfo if line.startswith("MemAvailable:"))
        return max(1, int(line.split()[1]) // 1024 // max(1, memory_mb))
    return os.cpu_count() or 1
