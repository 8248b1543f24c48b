"""What a generation request says, whatever its shape: the prompt the dev model answers (the
last user message), the user's earlier messages (what it may remember from), and the images
sent with them (Ollama's `images`, base64; OpenAI's `image_url` parts, data: URLs), which the
dev model acknowledges by type and size, saying it does not look at them."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

# the first bytes of the image formats a vision model takes
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
              (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


@dataclass(frozen=True)
class Image:
    media_type: str
    size: int

    @classmethod
    def of(cls, data: str) -> Image:
        """From base64, or a data: URL; anything else is an image of unknown type."""
        declared = ""
        if data.startswith(("http://", "https://")):
            return cls("a linked image, not fetched", 0)
        if data.startswith("data:"):
            declared, _, data = data[5:].partition(",")
            declared = declared.split(";")[0]
        try:
            raw = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            return cls(declared or "unknown", 0)
        for signature, media_type in SIGNATURES:
            if raw.startswith(signature):
                return cls(media_type, len(raw))
        if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
            return cls("image/webp", len(raw))
        return cls(declared or "unknown", len(raw))


@dataclass(frozen=True)
class Turns:
    prompt: str
    earlier: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()

    def acknowledgement(self) -> str:
        """What the dev model says of the images before its answer; "" without any."""
        if not self.images:
            return ""
        described = ", ".join(f"{i.media_type}, {i.size} bytes" for i in self.images)
        count = f"{len(self.images)} image{'s' if len(self.images) > 1 else ''}"
        return (f"[{count} received: {described}. The streamwhisk dev model does not look at "
                "images: a scripted reply follows.]\n\n")


def generate_turns(body: dict[str, Any]) -> Turns | None:
    """`/api/generate`: one prompt, and its `images`."""
    prompt, images = body.get("prompt", ""), body.get("images") or []
    if not isinstance(prompt, str) or not _texts(images):
        return None
    return Turns(prompt, (), tuple(Image.of(i) for i in images))


def chat_turns(body: dict[str, Any]) -> Turns | None:
    """`/api/chat` and `/v1/chat/completions`: the user's messages, text and images."""
    messages = body.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return None
    said: list[str] = []
    images: list[Image] = []
    for message in messages:
        if message.get("role") != "user":
            continue
        parsed = _content(message)
        if parsed is None:
            return None
        text, pictures = parsed
        said.append(text)
        images = pictures  # the images of the last user message
    if not said:
        return Turns("")
    return Turns(said[-1], tuple(said[:-1]), tuple(images))


def _content(message: dict[str, Any]) -> tuple[str, list[Image]] | None:
    content, attached = message.get("content", ""), message.get("images") or []
    if not _texts(attached):
        return None
    images = [Image.of(i) for i in attached]
    if isinstance(content, str):
        return content, images
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:  # OpenAI's parts: {"type": "text"} and {"type": "image_url"}
        if not isinstance(part, dict):
            return None
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            images.append(Image.of(url) if isinstance(url, str) else Image("unknown", 0))
    return "\n".join(texts), images


def _texts(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) for v in values)
