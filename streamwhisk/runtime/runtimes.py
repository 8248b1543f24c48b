"""Which runtime environment each action runs in, and the worker fork server of each.

An action's environment follows from its `#--kind` and the `requirements.txt` in its folder;
it is found (or built, in a thread, never on the event loop) before its activation is
created, so a first build does not count against the action's time limit. A failed build is
remembered for a while, so a broken requirements.txt is not re-installed on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path

from ..errors import RuntimeUnavailable
from ..project import DEFAULT_KIND, ActionSpec
from .environments import Progress, RuntimeEnvironment, base_environment, layered
from .kinds import resolve
from .processes import Zygote

log = logging.getLogger("streamwhisk.runtime")
RETRY_FAILED_AFTER_S = 30.0


class Runtimes:
    def __init__(self, progress: Progress = log.warning) -> None:
        self._progress = progress
        self._of_spec: dict[str, tuple[ActionSpec, RuntimeEnvironment]] = {}
        self._bases: dict[str, RuntimeEnvironment] = {}
        self._failed: dict[tuple[str, str], tuple[float, RuntimeUnavailable]] = {}
        self._zygotes: dict[str, Zygote] = {}
        self._building = threading.Lock()  # the file lock guards against other processes

    def environment(self, spec: ActionSpec) -> RuntimeEnvironment:
        """The action's environment, built first if need be; RuntimeUnavailable says why not."""
        known = self._known(spec)
        if known is not None:
            return known
        requirements = spec.requirements
        text = requirements.read_text(encoding="utf-8") if requirements else ""
        environment = self.build(spec.annotations.kind or DEFAULT_KIND, text, spec.code_dir,
                                 f"{spec.qualified}'s requirements.txt", "requirements.txt")
        self._of_spec[spec.qualified] = (spec, environment)
        return environment

    def build(self, kind: str, requirements: str = "", folder: Path = Path("/"),
              what: str = "requirements", extras: str = "") -> RuntimeEnvironment:
        """The kind's environment, with `requirements` (relative to `folder`) over it."""
        key = (kind, requirements)
        failed = self._failed.get(key)
        if failed is not None and time.monotonic() - failed[0] < RETRY_FAILED_AFTER_S:
            raise failed[1]
        with self._building:
            try:
                base = self._bases.get(kind)
                if base is None:
                    resolved = resolve(kind)
                    if resolved.fallback:
                        self._progress(resolved.fallback_warning())
                    base = self._bases[kind] = base_environment(resolved, self._progress)
                if not requirements:
                    return base
                return layered(base, requirements, folder, what, self._progress, extras)
            except RuntimeUnavailable as exc:
                self._failed[key] = (time.monotonic(), exc)
                raise

    def _known(self, spec: ActionSpec) -> RuntimeEnvironment | None:
        """The environment found for this very spec (an edited action is a new spec)."""
        known = self._of_spec.get(spec.qualified)
        return known[1] if known is not None and known[0] is spec else None

    def zygote(self, environment: RuntimeEnvironment) -> Zygote:
        zygote = self._zygotes.get(environment.key)
        if zygote is None:
            zygote = self._zygotes[environment.key] = Zygote(environment)
        return zygote

    async def prepare(self, spec: ActionSpec) -> Zygote:
        """The fork server for the action's environment, off the event loop when it builds."""
        known = self._known(spec)
        if known is not None:  # the common case: no thread
            return self.zygote(known)
        loop = asyncio.get_running_loop()
        return self.zygote(await loop.run_in_executor(None, self.environment, spec))

    async def prewarm(self, kind: str = DEFAULT_KIND) -> None:
        """Boot the default kind's fork server, so the first cold start need not wait."""
        loop = asyncio.get_running_loop()
        try:
            environment = await loop.run_in_executor(None, self.build, kind)
        except RuntimeUnavailable as exc:
            log.warning("%s", exc)
            return
        await loop.run_in_executor(None, self.zygote(environment).start)

    def close(self) -> None:
        for zygote in self._zygotes.values():
            with contextlib.suppress(OSError):
                zygote.close()
        self._zygotes.clear()
