"""What the invoker and the streamer tell the journal: each activation as it starts, its logs
and streamed messages as they come, its outcome when it ends. The record is written when the
activation has ended and, for one the streamer relays, its stream too.

A page may read the trace of an activation it ran, and only of those: each answer carries
`x-streamwhisk-trace`, a key for that one activation (an HMAC of its id with a secret kept
in the data folder), which the page's trace route asks for. The REST API, with the server's
key, reads them all.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .journal import Journal
from .record import Captured

if TYPE_CHECKING:
    from ..project import ActionSpec
    from ..runtime.activation import Activation
    from ..stream import StreamSession

TRACE_HEADER = "x-streamwhisk-trace"
ACTIVATION_HEADER = "x-openwhisk-activation-id"
REPLAY_HEADER = "x-streamwhisk-replay-of"
PREVIOUS_HEADER = "x-streamwhisk-previous"


class Recorder:
    def __init__(self, journal: Journal, namespace: str) -> None:
        self.journal = journal
        self.namespace = namespace
        self._secret: bytes | None = None

    def begin(self, activation: Activation, spec: ActionSpec, args: dict[str, Any],
              streamed: bool = False, replay_of: str | None = None,
              previous: str | None = None) -> None:
        """Start noting `activation` (`streamed`: its stream is relayed here, and the record
        waits for the stream's end too). Cheap: references, no copies."""
        if not self.journal.recording:
            return
        captured = Captured(activation, spec, args, self.namespace, self.journal, streamed,
                            _id_or_none(replay_of), _id_or_none(previous))
        activation.captured = captured
        activation.result.add_done_callback(functools.partial(captured.result_done, activation))
        if streamed:
            activation.stream_ended = captured.stream_done

    def mask_with(self, mask: Callable[[str], str]) -> None:
        """What masks the secrets in each record (the invoker's redactor)."""
        self.journal.mask = mask

    def token(self, activation_id: str) -> str:
        """The key that opens this one activation's trace to a page."""
        return hmac.new(self._page_secret(), activation_id.encode(),
                        hashlib.sha256).hexdigest()[:32]

    def opens(self, activation_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(activation_id), token)

    def _page_secret(self) -> bytes:
        if self._secret is None:
            self._secret = _secret_beside(self.journal.path)
        return self._secret


def follow_stream(session: StreamSession) -> None:
    """The streamed messages, and the stream's end, into its activation's record."""
    activation = session.activation
    captured = getattr(activation, "captured", None)
    ended = getattr(activation, "stream_ended", None)
    if captured is not None and ended is not None:
        session.watch(captured.messages, ended)


def _secret_beside(journal: Path) -> bytes:
    """The secret the trace keys are made with, kept beside the journal (for its user only),
    so a page's links to its traces outlive a restart."""
    path = journal.with_suffix(".secret")
    with contextlib.suppress(OSError, ValueError):
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = secrets.token_bytes(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(made.hex())
    temporary.replace(path)
    return made


def _id_or_none(value: str | None) -> str | None:
    """An activation id, as a caller may name one (32 hex digits), or nothing."""
    if value and len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value
    return None

