"""`streamwhisk loader FILE...`: files into the project's vector database through its loader
action, as `ops ai loader` does: each file's text (a PDF's through pypdf, a sentence a line),
packed line by line into chunks of at most `chunksize` bytes, each sent to the action as
`{"input": chunk, "state": collection}` (the course's loader inserts `input` into the
collection its `state` names; `!!collection` first, with --clean, drops it), with `options`
when `--opts` gives them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ..errors import LoaderError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text", ""}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Chunk:
    source: str
    text: str


def options_of(opts: str | None) -> dict[str, Any]:
    """What `--opts` adds to each chunk's invocation: `{"options": {...}}`, or nothing."""
    if opts is None:
        return {}
    try:
        options = json.loads(opts)
    except ValueError as exc:
        raise LoaderError(f"--opts is not JSON ({exc}): give an object, as "
                          "'{\"model\": \"mxbai-embed-large\"}'") from exc
    if not isinstance(options, dict):
        raise LoaderError("--opts must be a JSON object, as '{\"model\": \"mxbai-embed-large\"}'")
    return {"options": options}


def read_text(path: Path) -> str:
    """A text or Markdown file as it is; a PDF's text, a sentence a line."""
    if not path.is_file():
        raise LoaderError(f"no file at {path}")
    if path.suffix.lower() == ".pdf":
        try:
            pages = [page.extract_text() or "" for page in PdfReader(path).pages]
        except (PdfReadError, OSError, ValueError) as exc:
            raise LoaderError(f"{path} is not a PDF pypdf can read: {exc}") from exc
        return "\n".join(sentences(" ".join(pages)))
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise LoaderError(f"{path}: the loader reads text, Markdown and PDF files")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LoaderError(f"{path} is not UTF-8 text") from exc


def sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if s.strip(" .")]


def chunked(text: str, size: int) -> Iterator[str]:
    """Lines packed into chunks of at most `size` UTF-8 bytes; a longer line is cut at its
    spaces (never lost, as `ops ai loader` would skip it)."""
    chunk = ""
    for line in _pieces(text.splitlines(), size):
        joined = f"{chunk}\n{line}" if chunk else line
        if len(joined.encode()) > size and chunk:
            yield chunk
            joined = line
        chunk = joined
    if chunk.strip():
        yield chunk


def _pieces(lines: list[str], size: int) -> Iterator[str]:
    for line in lines:
        if len(line.encode()) <= size:
            yield line
            continue
        piece = ""
        for word in line.split(" "):
            while len(word.encode()) > size:  # a "word" longer than a chunk: cut it
                cut = _fit(word, size)
                if piece:
                    yield piece
                    piece = ""
                yield word[:cut]
                word = word[cut:]
            candidate = f"{piece} {word}" if piece else word
            if len(candidate.encode()) > size:
                yield piece
                candidate = word
            piece = candidate
        if piece:
            yield piece


def _fit(word: str, size: int) -> int:
    cut = size
    while len(word[:cut].encode()) > size:
        cut -= 1
    return max(cut, 1)


def chunks_of(paths: list[Path], size: int) -> list[Chunk]:
    if size < 64:
        raise LoaderError("--chunksize is in bytes: give at least 64")
    return [Chunk(str(path), text) for path in paths
            for text in chunked(read_text(path), size) if text.strip()]
