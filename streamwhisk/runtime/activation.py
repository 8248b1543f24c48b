"""An activation: one run of an action with its arguments, as OpenWhisk counts them.

Its time limit is one clock from its creation: waiting for a worker, a cold start and the run
itself all count against `deadline`, as `__OW_DEADLINE` tells the action.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..actionloop.messages import Run


def new_activation_id() -> str:
    return uuid.uuid4().hex


def _ignore(port: int) -> None:
    pass


@dataclass
class Activation:
    action: str
    value: dict[str, Any]
    timeout_ms: int
    namespace: str = "guest"
    api_host: str = ""
    api_key: str = ""  # only for actions annotated provide-api-key
    # told each source port the worker announces for this activation's stream connection
    on_stream_from: Callable[[int], None] = _ignore
    activation_id: str = field(default_factory=new_activation_id)
    started: float = field(default_factory=time.time)
    created: float = field(default_factory=time.monotonic)
    deadline: float = field(init=False)  # on the monotonic clock, from timeout_ms at creation
    result: asyncio.Future[dict[str, Any]] = field(default_factory=asyncio.Future)
    # for its record: when a worker took it (monotonic), the cold start it waited for, what
    # the journal notes of it (`activations.record.Captured`), and what ends its stream's part
    handed: float | None = None
    init_ms: int | None = None
    captured: Any = None
    stream_ended: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.deadline = self.created + self.timeout_ms / 1000
        # A caller that went away never reads the outcome; mark it read so asyncio stays quiet.
        self.result.add_done_callback(lambda f: f.cancelled() or f.exception())

    @property
    def deadline_ms(self) -> int:
        return int(self.started * 1000) + self.timeout_ms

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def message(self) -> Run:
        return Run(activation_id=self.activation_id, value=self.value,
                   action_name=f"/{self.namespace}/{self.action}", namespace=self.namespace,
                   api_host=self.api_host, api_key=self.api_key, deadline=self.deadline_ms)
