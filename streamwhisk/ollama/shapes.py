"""The response shapes a generation is sent in: Ollama's /api/generate and /api/chat
(NDJSON), and Ollama's OpenAI-compatible /v1/chat/completions (server-sent events)."""

from __future__ import annotations

import hashlib
import json
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROMPT_SHOWN = 200


@dataclass
class Generation:
    """One request's generation and how it ended: done, length, error or client-gone."""

    id: int
    endpoint: str
    model: str
    prompt: str  # its first PROMPT_SHOWN characters: a record, not a copy of every prompt
    stream: bool
    tokens_sent: int = 0
    outcome: str = "running"
    prompt_chars: int = 0
    prompt_sha256: str = ""

    @classmethod
    def of(cls, number: int, endpoint: str, model: str, prompt: str,
           stream: bool) -> Generation:
        shown = prompt if len(prompt) <= PROMPT_SHOWN else prompt[:PROMPT_SHOWN] + "…"
        return cls(number, endpoint, model, shown, stream, prompt_chars=len(prompt),
                   prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest())


@dataclass
class Plan:
    """What to send: (field, text) pieces, then an error or the end."""

    pieces: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    done_reason: str = "stop"
    prompt_tokens: int = 0


class Shape(ABC):
    """How one endpoint words its chunks, its last line and its non-streaming answer."""

    media_type = "application/x-ndjson"

    def __init__(self, model: str) -> None:
        self.model = model

    def frame(self, value: dict[str, Any]) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode() + b"\n"

    def error(self, message: str) -> dict[str, Any]:
        return {"error": message}

    def end(self) -> bytes:
        """What follows the last line of a stream."""
        return b""

    def head(self) -> dict[str, Any]:
        created = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return {"model": self.model, "created_at": created}

    @abstractmethod
    def chunk(self, kind: str, text: str) -> dict[str, Any]: ...

    @abstractmethod
    def whole(self, final: dict[str, Any], response: str, thinking: str) -> dict[str, Any]: ...

    def final(self, plan: Plan, generation: Generation, elapsed_ns: int) -> dict[str, Any]:
        return {"done": True, "done_reason": plan.done_reason, "total_duration": elapsed_ns,
                "load_duration": 0, "prompt_eval_count": plan.prompt_tokens,
                "prompt_eval_duration": 0, "eval_count": generation.tokens_sent,
                "eval_duration": elapsed_ns}


class GenerateShape(Shape):
    def chunk(self, kind: str, text: str) -> dict[str, Any]:
        if kind == "thinking":
            return {**self.head(), "response": "", "thinking": text, "done": False}
        return {**self.head(), "response": text, "done": False}

    def final(self, plan: Plan, generation: Generation, elapsed_ns: int) -> dict[str, Any]:
        return {**self.head(), "response": "", **super().final(plan, generation, elapsed_ns),
                "context": list(range(1, plan.prompt_tokens + generation.tokens_sent + 1))}

    def whole(self, final: dict[str, Any], response: str, thinking: str) -> dict[str, Any]:
        return {**final, "response": response, **({"thinking": thinking} if thinking else {})}


class ChatShape(Shape):
    def chunk(self, kind: str, text: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": "" if kind == "thinking" else text}
        if kind == "thinking":
            message["thinking"] = text
        return {**self.head(), "message": message, "done": False}

    def final(self, plan: Plan, generation: Generation, elapsed_ns: int) -> dict[str, Any]:
        return {**self.head(), "message": {"role": "assistant", "content": ""},
                **super().final(plan, generation, elapsed_ns)}

    def whole(self, final: dict[str, Any], response: str, thinking: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": response,
                   **({"thinking": thinking} if thinking else {})}
        return {**final, "message": message}


class OpenAIChatShape(Shape):
    """Ollama's OpenAI-compatible chat: `chat.completion.chunk` events, then `[DONE]`."""

    media_type = "text/event-stream"

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        self.created = int(datetime.now(UTC).timestamp())
        self._first = True

    def frame(self, value: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(value, ensure_ascii=False).encode() + b"\n\n"

    def error(self, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "api_error", "param": None,
                          "code": None}}

    def end(self) -> bytes:
        return b"data: [DONE]\n\n"

    def _event(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": "streamwhisk-dev",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def chunk(self, kind: str, text: str) -> dict[str, Any]:
        delta = {"role": "assistant", "content": text} if self._first else {"content": text}
        self._first = False
        return self._event(delta, None)

    def final(self, plan: Plan, generation: Generation, elapsed_ns: int) -> dict[str, Any]:
        return self._event({}, plan.done_reason if plan.done_reason == "length" else "stop")

    def whole(self, final: dict[str, Any], response: str, thinking: str) -> dict[str, Any]:
        finish = final["choices"][0]["finish_reason"]
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "system_fingerprint": "streamwhisk-dev",
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": response}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
