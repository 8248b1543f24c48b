"""The streamer's relay: an action sends JSON messages to a socket, a client reads them live.

Knows sockets, framing and ownership; nothing of workers (`app.py` composes the two). The
names below are loaded when first used, so that the action loop, which imports only
`schema.py`, pays for nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .decoder import Batch, Message, MessageDecoder
    from .ownership import Announced, FirstComer, Ownership
    from .relay import Inbound, Relay
    from .session import StreamSession, StreamSettings, outcome

_HOMES = {"Batch": "decoder", "Message": "decoder", "MessageDecoder": "decoder",
          "Announced": "ownership", "FirstComer": "ownership", "Ownership": "ownership",
          "Inbound": "relay", "Relay": "relay", "StreamSession": "session",
          "StreamSettings": "session", "outcome": "session"}

__all__ = [
    "Announced",
    "Batch",
    "FirstComer",
    "Inbound",
    "Message",
    "MessageDecoder",
    "Ownership",
    "Relay",
    "StreamSession",
    "StreamSettings",
    "outcome",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
