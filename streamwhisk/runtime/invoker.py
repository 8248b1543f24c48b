"""Runs activations: finds the action's pool, merges its parameters, picks up edited code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import is_secret_name
from ..errors import StreamwhiskError
from ..names import split_action_name
from ..project import ActionSpec, Project
from ..redact import Redactor
from ..stream.schema import RESERVED_ARGUMENTS
from .activation import Activation
from .pool import ActionPool, PoolSettings
from .processes import Zygote
from .runtimes import Runtimes

REAP_INTERVAL_S = 30.0
action_log = logging.getLogger("streamwhisk.action")  # where the activations' own lines go


@dataclass(frozen=True)
class InvokerSettings:
    pool: PoolSettings = field(default_factory=PoolSettings)
    namespace: str = "guest"
    api_host: str = ""
    api_key: str = ""  # what `provide-api-key` actions get as __OW_API_KEY


class ActionSource(Protocol):
    """Where deployed actions come from (`server.store.DeployedStore`)."""

    def actions(self, package: str | None = None) -> list[str]: ...

    def has(self, package: str, name: str) -> bool: ...

    def load(self, package: str, name: str) -> ActionSpec: ...


class Recording(Protocol):
    """What keeps each activation's record (`activations.Recorder`)."""

    def begin(self, activation: Activation, spec: ActionSpec, args: dict[str, Any],
              streamed: bool = False, replay_of: str | None = None,
              previous: str | None = None) -> None: ...

    def mask_with(self, mask: Callable[[str], str]) -> None: ...


class Invoker:
    def __init__(self, project: Project, settings: InvokerSettings | None = None,
                 store: ActionSource | None = None,
                 guard: Callable[[ActionSpec], None] | None = None,
                 recorder: Recording | None = None) -> None:
        """`guard` may refuse an activation before it starts (a service it needs is down);
        `recorder` keeps a record of each one."""
        self.project = project
        self.guard = guard
        self.recorder = recorder
        self.store = store
        self.settings = settings or InvokerSettings()
        self.redact = Redactor()
        self.redact.add([self.settings.api_key])
        if recorder is not None:  # its records are masked as the logs are
            recorder.mask_with(self.redact)
        self._pools: dict[str, ActionPool] = {}
        self._seen: dict[str, ActionSpec] = {}
        self._retired: list[ActionPool] = []
        self._reaper: asyncio.Task[None] | None = None
        self.runtimes = Runtimes()  # an environment, and a fork server, per kind

    def spec(self, name: str) -> ActionSpec:
        """The action as it is on disk now; raises ProjectError/ConfigError for the caller.
        A deployed action is served in place of a project action of the same name."""
        package, action = split_action_name(name)
        if self.store is not None and self.store.has(package, action):
            spec = self.store.load(package, action)
        else:
            spec = self.project.load(package, action)
        if self._seen.get(spec.qualified) is not spec:  # a new or edited action
            self._seen[spec.qualified] = spec
            self.redact.add(spec.secrets)
            settings = self.project.config.settings().values()
            self.redact.add(s.value for s in settings if is_secret_name(s.key))
        return spec

    def action_names(self) -> list[str]:
        """The project's actions and the deployed ones, each name once."""
        deployed = self.store.actions() if self.store is not None else []
        return sorted({*self.project.action_names(), *deployed})

    async def start(self, spec: ActionSpec, args: dict[str, Any],
                    stream: dict[str, str] | None = None,
                    on_stream_from: Callable[[int], None] | None = None, *,
                    streamed: bool = False, replay_of: str | None = None,
                    previous: str | None = None) -> Activation:
        """Dispatch an activation and return at once; await `activation.result` for the end.

        STREAM_HOST/STREAM_PORT are reserved: only `stream`, the streamer's own relay
        address, sets them; a request's values never reach the action. `streamed`: the
        streamer here relays it (its record waits for the stream); `replay_of`, `previous`:
        the activation it runs again, the conversation's turn before, for its record."""
        if self.guard is not None:
            self.guard(spec)
        args = {k: v for k, v in args.items() if k not in RESERVED_ARGUMENTS}
        activation = Activation(
            action=spec.qualified,
            value={**spec.params, **args, **(stream or {})},
            timeout_ms=spec.limits.timeout_ms,
            namespace=self.settings.namespace,
            api_host=self.settings.api_host,
            api_key=self.settings.api_key if spec.provides_api_key else "",
        )
        if on_stream_from is not None:
            activation.on_stream_from = on_stream_from
        if self.recorder is not None:
            self.recorder.begin(activation, spec, args, streamed, replay_of, previous)
        if spec.unset:
            action_log.warning("%s %s: %s unset in every layer: passed as an empty string",
                               spec.qualified, activation.activation_id,
                               ", ".join(f"${name}" for name in spec.unset))
        try:
            # a runtime still being built is waited for within the activation's own time
            zygote = await self.runtimes.prepare(spec, activation.remaining_s())
            await self._pool(spec, zygote).dispatch(activation)
        except BaseException as exc:  # it never ran: its record says why
            if not activation.result.done():
                if isinstance(exc, Exception):
                    activation.result.set_exception(exc)
                else:
                    activation.result.cancel()
            if activation.stream_ended is not None:  # nor will it stream
                activation.stream_ended()
            raise
        return activation

    async def invoke(self, spec: ActionSpec, args: dict[str, Any]) -> dict[str, Any]:
        activation = await self.start(spec, args)
        return await asyncio.shield(activation.result)

    def prepare_runtimes(self) -> None:
        """Start building the runtimes the actions need, in the background (the default
        kind's first), and boot the default kind's fork server once it is ready, so the
        first cold start need not wait. Returns at once."""
        specs = []
        for name in self.action_names():
            with contextlib.suppress(StreamwhiskError):  # reported at start, and on call
                specs.append(self.spec(name))
        self.runtimes.prepare_in_background(
            specs, then=lambda environment: self.runtimes.zygote(environment).start())

    def _pool(self, spec: ActionSpec, zygote: Zygote) -> ActionPool:
        pool = self._pools.get(spec.qualified)
        if pool is not None and pool.spec.fingerprint != spec.fingerprint:
            pool.retire()
            self._retired.append(pool)
            pool = None
        if pool is None:
            pool = ActionPool(spec, self.settings.pool, self.redact, zygote)
            self._pools[spec.qualified] = pool
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return pool

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            for pool in self._pools.values():
                pool.reap_idle()
            self._retired = [p for p in self._retired if p.workers]

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for pool in [*self._pools.values(), *self._retired]:
            await pool.close()
        self._pools.clear()
        self._retired.clear()
        await asyncio.get_running_loop().run_in_executor(None, self.runtimes.close)
