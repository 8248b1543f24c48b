"""The streamer's relay: an action sends JSON messages to a socket, a client reads them live.

Knows sockets, framing and ownership; nothing of workers (`app.py` composes the two)."""

from .decoder import Batch, Message, MessageDecoder
from .ownership import Announced, FirstComer, Ownership
from .relay import Inbound, Relay
from .session import StreamSession, StreamSettings, outcome

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
