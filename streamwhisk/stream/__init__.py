"""The streamer's relay: an action sends JSON messages to a socket, a client reads them live."""

from .decoder import MAX_MESSAGE_BYTES, Message, MessageDecoder
from .relay import Relay
from .session import StreamSession, StreamSettings, outcome

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Message",
    "MessageDecoder",
    "Relay",
    "StreamSession",
    "StreamSettings",
    "outcome",
]
