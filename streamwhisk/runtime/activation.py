"""An activation: one run of an action with its arguments, as OpenWhisk counts them."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_activation_id() -> str:
    return uuid.uuid4().hex


class StreamSources:
    """The local ports the activation's worker said its stream connections come from."""

    def __init__(self) -> None:
        self.ports: set[int] = set()
        self._changed = asyncio.Event()

    def add(self, port: int) -> None:
        self.ports.add(port)
        self._changed.set()
        self._changed = asyncio.Event()

    def verdict(self, port: int) -> bool | None:
        """True: the activation's own; False: a stranger (it announced another); None: unsure."""
        if port in self.ports:
            return True
        return False if self.ports else None

    def next_change(self) -> asyncio.Event:
        """The event the next announcement sets. Taken before waiting, not when a waiting
        task first runs: an announcement in between would otherwise go unnoticed."""
        return self._changed


@dataclass
class Activation:
    action: str
    value: dict[str, Any]
    timeout_ms: int
    namespace: str = "guest"
    api_host: str = ""
    api_key: str = ""  # only for actions annotated provide-api-key
    activation_id: str = field(default_factory=new_activation_id)
    started: float = field(default_factory=time.time)
    worker_pid: int | None = None
    result: asyncio.Future[dict[str, Any]] = field(default_factory=asyncio.Future)
    stream_sources: StreamSources = field(default_factory=StreamSources)

    def __post_init__(self) -> None:
        # A caller that went away never reads the outcome; mark it read so asyncio stays quiet.
        self.result.add_done_callback(lambda f: f.cancelled() or f.exception())

    @property
    def deadline_ms(self) -> int:
        return int(self.started * 1000) + self.timeout_ms

    def message(self) -> dict[str, Any]:
        return {
            "activation_id": self.activation_id,
            "action_name": f"/{self.namespace}/{self.action}",
            "namespace": self.namespace,
            "api_host": self.api_host,
            "api_key": self.api_key,
            "deadline": self.deadline_ms,
            "value": self.value,
        }
