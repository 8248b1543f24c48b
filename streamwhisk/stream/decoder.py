"""Frames the bytes an action sends into JSON-object messages.

Actions send objects back to back (the lesson's `stream` does: no separator) or one per line,
and TCP splits them anywhere, inside a multi-byte UTF-8 character included. Complete objects
are decoded by `json` at C speed; only the unfinished tail is scanned, once per byte, to learn
where it will end, so a message dribbled in byte by byte still costs linear time.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonbody import NotJSONNumber, reject_constant
from .schema import RESERVED_KEYS, error_message

MAX_MESSAGE_BYTES = 1024 * 1024
_EXCERPT = 40
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_OUTSIDE_STRING = re.compile(r'[{}"]')
_INSIDE_STRING = re.compile(r'["\\]')
_decoder = json.JSONDecoder(parse_constant=reject_constant)  # NaN is no JSON number

Message = dict[str, Any]


@dataclass
class Batch:
    """Messages that arrived together; `texts[i]` is message i's JSON text exactly as the
    action sent it (None for the errors the decoder made), so a relay can pass it on
    without encoding it again."""

    messages: list[Message] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)

    def add(self, message: Message, text: str | None = None) -> None:
        self.messages.append(message)
        self.texts.append(text)

    def extend(self, other: Batch) -> None:
        self.messages += other.messages
        self.texts += other.texts

    def __len__(self) -> int:
        return len(self.messages)

    def __bool__(self) -> bool:
        return bool(self.messages)


@dataclass
class _Scan:
    """How far the unfinished object at the start of the buffer has been scanned."""

    position: int = 0
    depth: int = 0
    in_string: bool = False


class MessageDecoder:
    """Feed it bytes, get back complete messages; problems come back as `{"error": ...}`."""

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._scan: _Scan | None = None
        self._skipping = False  # inside an over-long object: drop it up to its end
        self._garbage_continues = False  # the last feed ended in garbage

    def feed(self, data: bytes) -> list[Message]:
        return self.feed_texts(data).messages

    def close(self) -> list[Message]:
        return self.close_texts().messages

    def feed_texts(self, data: bytes) -> Batch:
        """The complete messages, each with its JSON text as the action sent it."""
        self._buffer += self._utf8.decode(data)
        batch = Batch()
        self._drain(batch)
        return batch

    def close_texts(self) -> Batch:
        """The stream ended: anything left over is a message cut short."""
        self._buffer += self._utf8.decode(b"", final=True)
        batch = Batch()
        self._drain(batch)
        leftover = self._buffer.strip()
        self._buffer, self._scan = "", None
        if leftover and not self._skipping:
            batch.add(_error(f"the stream ended inside a message: {_excerpt(leftover)}"))
        return batch

    def _drain(self, batch: Batch) -> None:
        """Every complete message in the buffer into `batch`. Whole objects are decoded at C
        speed; an unfinished one is scanned (`_scan_on`) until it closes."""
        messages = batch.messages
        texts = batch.texts
        buffer = self._buffer
        index = 0
        while True:
            if self._scan is not None:
                buffer, index = self._scan_on(buffer, index, batch)
                if self._scan is not None:
                    break  # the message goes on in the next feed
                continue
            index = _WHITESPACE.match(buffer, index).end()  # type: ignore[union-attr]
            if index == len(buffer):
                break
            if buffer[index] != "{":
                index = self._skip_garbage(buffer, index, batch)
                continue
            self._garbage_continues = False
            try:
                value, end = _decoder.raw_decode(buffer, index)
            # unfinished, too deep, or with a NaN: the scan finds its end, then says which
            except (json.JSONDecodeError, RecursionError, NotJSONNumber):
                buffer, index = buffer[index:], 0
                self._scan = _Scan()
                continue
            message = self._checked(value, buffer, index, end)
            messages.append(message)
            texts.append(buffer[index:end] if message is value else None)
            index = end
        self._buffer = buffer[index:]

    def _scan_on(self, buffer: str, index: int, batch: Batch) -> tuple[str, int]:
        """Scan the unfinished message at the start of `buffer`; once it closes, add it (or
        why it is not one) to `batch` and end the scan. The buffer and where to go on."""
        assert self._scan is not None
        closed_at = _advance(buffer, self._scan)
        if closed_at is None:
            if not self._skipping and len(buffer) > self.max_message_bytes:
                batch.add(_error(self._too_long()))
                self._skipping = True
            if self._skipping:  # keep only the scan state, not the text
                buffer = buffer[self._scan.position:]
                self._scan.position = 0
            return buffer, index
        self._scan = None
        if self._skipping:
            self._skipping = False
        else:
            text = buffer[:closed_at]
            message = self._parse_whole(text)
            batch.messages.append(message)
            batch.texts.append(text if "error" not in message else None)
        return buffer, closed_at

    def _checked(self, value: Message, text: str, start: int, end: int) -> Message:
        if end - start > self.max_message_bytes // 4 and (
            len(text[start:end].encode()) > self.max_message_bytes
        ):
            return _error(self._too_long())
        for key in RESERVED_KEYS:
            if key in value:
                return _error(f"the action sent a message with the reserved key {key!r}")
        return value

    def _parse_whole(self, text: str) -> Message:
        try:
            value, end = _decoder.raw_decode(text)
        except json.JSONDecodeError as exc:
            return _error(f"the action sent invalid JSON ({exc.msg}): {_excerpt(text)}")
        except RecursionError:
            return _error(f"the action sent JSON nested too deeply to read: {_excerpt(text)}")
        except NotJSONNumber as exc:
            return _error(f"the action sent invalid JSON ({exc}): {_excerpt(text)}")
        return self._checked(value, text, 0, end)

    def _skip_garbage(self, buffer: str, index: int, batch: Batch) -> int:
        """Skip to the next `{`; one error per run of garbage, however it was split."""
        resume = buffer.find("{", index)
        resume = len(buffer) if resume < 0 else resume
        if not self._garbage_continues:
            batch.add(_error(f"the action sent data that is not a JSON object: "
                             f"{_excerpt(buffer[index:resume])}"))
        self._garbage_continues = resume == len(buffer)
        return resume

    def _too_long(self) -> str:
        return (f"the action sent a message over {self.max_message_bytes} bytes; it was dropped "
                "(send long text as several deltas)")


def _advance(text: str, scan: _Scan) -> int | None:
    """Scan on from where the last call stopped; the index just past the object, or None."""
    position = scan.position
    while True:
        pattern = _INSIDE_STRING if scan.in_string else _OUTSIDE_STRING
        found = pattern.search(text, position)
        if found is None:
            scan.position = len(text)
            return None
        char, position = found.group(), found.end()
        if char == "\\":
            if position == len(text):  # the escaped character has not arrived yet
                scan.position = position - 1
                return None
            position += 1
        elif char == '"':
            scan.in_string = not scan.in_string
        elif char == "{":
            scan.depth += 1
        else:
            scan.depth -= 1
            if scan.depth == 0:
                return position


def _error(message: str) -> Message:
    return error_message(message)


def _excerpt(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…")
