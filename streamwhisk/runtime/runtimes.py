"""Which runtime environment each action runs in, and the worker fork server of each.

An action's environment follows from its `#--kind` and the `requirements.txt` in its folder.
Building one happens in a thread of its own, never on the event loop and never before the
server answers: an activation that needs it waits for it within its own deadline, and what is
being built is listed (`preparations()`) for `up`'s output and the page. One build per
environment at a time; a failed one answers its waiters with the reason, and the next
request tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RuntimePreparing
from ..project import DEFAULT_KIND, ActionSpec
from .environments import Progress, RuntimeEnvironment, base_environment, layered
from .kinds import resolve
from .processes import Zygote

log = logging.getLogger("streamwhisk.runtime")


@dataclass
class Preparation:
    """An environment being built (or built, or failed) since this process started."""

    what: str
    state: str = "building"  # building | ready | failed
    step: str = ""
    error: str = ""
    started: float = field(default_factory=time.time)
    ended: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "state": self.state, "step": self.step,
                "error": self.error, "seconds": round((self.ended or time.time())
                                                      - self.started, 1)}


@dataclass(frozen=True)
class _Wanted:
    kind: str
    requirements: str = ""
    folder: Path = Path("/")
    what: str = "requirements"
    extras: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.requirements)


class Runtimes:
    def __init__(self, progress: Progress = log.info, warn: Progress = log.warning) -> None:
        self._progress = progress
        self._warn = warn
        self._of_spec: dict[str, tuple[ActionSpec, RuntimeEnvironment]] = {}
        self._builds: dict[tuple[str, str], Future[RuntimeEnvironment]] = {}
        self._zygotes: dict[str, Zygote] = {}
        self._lock = threading.Lock()
        self._preparations: list[Preparation] = []

    def environment(self, spec: ActionSpec) -> RuntimeEnvironment:
        """The action's environment, built first if need be; RuntimeUnavailable says why not."""
        known = self._known(spec)
        if known is not None:
            return known
        return self._remember(spec, self.start(spec).result())

    def build(self, kind: str, requirements: str = "", folder: Path = Path("/"),
              what: str = "requirements", extras: str = "") -> RuntimeEnvironment:
        """The kind's environment, with `requirements` (relative to `folder`) over it."""
        return self._start(_Wanted(kind, requirements, folder, what, extras)).result()

    def start(self, spec: ActionSpec) -> Future[RuntimeEnvironment]:
        """The build of the action's environment, started now unless it is under way."""
        requirements = spec.requirements
        text = requirements.read_text(encoding="utf-8") if requirements else ""
        return self._start(_Wanted(spec.annotations.kind or DEFAULT_KIND, text, spec.code_dir,
                                   f"{spec.qualified}'s requirements.txt", "requirements.txt"))

    def preparations(self) -> list[Preparation]:
        """What was built since start, and what is being built, oldest first."""
        return list(self._preparations)

    def _start(self, wanted: _Wanted) -> Future[RuntimeEnvironment]:
        with self._lock:
            future = self._builds.get(wanted.key)
            if future is not None and not (future.done() and future.exception() is not None):
                return future  # under way, or built
            future = self._builds[wanted.key] = Future()
        threading.Thread(target=self._run, args=(wanted, future), daemon=True,
                         name=f"build {wanted.kind}").start()
        return future

    def _run(self, wanted: _Wanted, future: Future[RuntimeEnvironment]) -> None:
        shown: list[Preparation] = []  # the build's entry, once it says it has work to do

        def progress_of(what: str) -> Progress:
            def progress(line: str) -> None:
                if not shown:
                    shown.append(Preparation(what))
                    self._preparations.append(shown[0])
                shown[0].step = line.strip()
                self._progress(line)
            return progress

        try:
            environment = self._build_now(wanted, progress_of)
        except BaseException as exc:
            if shown:
                shown[0].state, shown[0].error, shown[0].ended = "failed", str(exc), time.time()
                self._warn(f"failed: {shown[0].what}: {exc}")
            future.set_exception(exc)
            return
        if shown:
            shown[0].state, shown[0].ended = "ready", time.time()
            self._progress(f"ready: {shown[0].what}, in {shown[0].ended - shown[0].started:.1f} s")
        future.set_result(environment)

    def _build_now(self, wanted: _Wanted, progress_of: Callable[[str], Progress]
                   ) -> RuntimeEnvironment:
        if wanted.requirements:
            base = self._start(_Wanted(wanted.kind)).result()
            return layered(base, wanted.requirements, wanted.folder, wanted.what,
                           progress_of(f"{wanted.what} over {base.kind.label}"), wanted.extras)
        resolved = resolve(wanted.kind)
        if resolved.fallback:
            self._warn(resolved.fallback_warning())
        return base_environment(resolved, progress_of(f"the {resolved.label} runtime"))

    def _remember(self, spec: ActionSpec, environment: RuntimeEnvironment
                  ) -> RuntimeEnvironment:
        self._of_spec[spec.qualified] = (spec, environment)
        return environment

    def _known(self, spec: ActionSpec) -> RuntimeEnvironment | None:
        """The environment found for this very spec (an edited action is a new spec)."""
        known = self._of_spec.get(spec.qualified)
        return known[1] if known is not None and known[0] is spec else None

    def zygote(self, environment: RuntimeEnvironment) -> Zygote:
        with self._lock:  # a build's thread boots the default one
            zygote = self._zygotes.get(environment.key)
            if zygote is None:
                zygote = self._zygotes[environment.key] = Zygote(environment)
            return zygote

    async def prepare(self, spec: ActionSpec, within_s: float) -> Zygote:
        """The fork server for the action's environment, waiting at most `within_s` for a
        build under way (the activation's own time); the build goes on either way."""
        known = self._known(spec)
        if known is not None:  # the common case: nothing to wait for
            return self.zygote(known)
        build = asyncio.wrap_future(self.start(spec))
        try:
            environment = await asyncio.wait_for(asyncio.shield(build), within_s)
        except TimeoutError:
            step = next((p.step for p in reversed(self._preparations)
                         if p.state == "building"), "")
            raise RuntimePreparing(spec.qualified, step) from None
        return self.zygote(self._remember(spec, environment))

    def prepare_in_background(self, specs: list[ActionSpec],
                              then: Callable[[RuntimeEnvironment], None] | None = None) -> None:
        """Start building what `specs` need, the default kind first; `then` is called with
        the default kind's environment once it is ready (to boot its fork server)."""
        default = self._start(_Wanted(DEFAULT_KIND))
        if then is not None:
            default.add_done_callback(
                lambda done: done.exception() is None and then(done.result()))
        for spec in specs:
            self.start(spec).add_done_callback(_quiet)

    def close(self) -> None:
        for zygote in self._zygotes.values():
            with contextlib.suppress(OSError):
                zygote.close()
        self._zygotes.clear()


def _quiet(done: Future[RuntimeEnvironment]) -> None:
    """A failed background build is reported by its progress lines and to its callers."""
    done.exception()
