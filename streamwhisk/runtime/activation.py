"""An activation: one run of an action with its arguments, as OpenWhisk counts them."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_activation_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Activation:
    action: str
    value: dict[str, Any]
    timeout_ms: int
    namespace: str = "guest"
    api_host: str = ""
    activation_id: str = field(default_factory=new_activation_id)
    started: float = field(default_factory=time.time)
    worker_pid: int | None = None
    result: asyncio.Future[dict[str, Any]] = field(default_factory=asyncio.Future)

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
            "deadline": self.deadline_ms,
            "value": self.value,
        }
