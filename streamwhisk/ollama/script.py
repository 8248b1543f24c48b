"""The dev model's script: prompt patterns and the replies they get (see replies.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DEFAULT_SCRIPT = Path(__file__).with_name("replies.toml")
_TOKEN = re.compile(r"\s*[\w']+|\s*[^\w\s]|\s+")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
BUILT_IN = frozenset({"prompt", "model", "countdown"})
MAX_COUNTDOWN = 100


def countdown(start: int) -> str:
    """`5... 4... 3... 2... 1... Go!`, one number a line, as the course's countdown prints."""
    numbers = range(min(start, MAX_COUNTDOWN), 0, -1)
    return "\n".join([*(f"{n}..." for n in numbers), "Go!"])


def tokens(text: str) -> list[str]:
    """Word-sized pieces that join back into `text` exactly."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Reply:
    pattern: re.Pattern[str]
    answer: str
    thinking: str = ""
    error: str = ""
    error_after: int = 0
    repeat: int = 1
    missing: str = ""  # said when the answer names a fact the conversation has not given

    def render(self, values: dict[str, str]) -> Reply:
        """With each `{name}` the values know filled in: the prompt, the model, the pattern's
        named groups, the facts of earlier turns, and `{countdown}` (from a group `n`)."""
        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

        return Reply(self.pattern, fill(self.answer) * self.repeat, fill(self.thinking),
                     self.error, self.error_after)

    def wants(self) -> set[str]:
        """The facts its answer names: placeholders that are neither built in nor its own
        pattern's groups."""
        own = set(self.pattern.groupindex)
        return {name for name in _PLACEHOLDER.findall(self.answer)} - own - BUILT_IN


@dataclass(frozen=True)
class Script:
    models: tuple[str, ...]
    reasoning_models: frozenset[str]
    replies: tuple[Reply, ...] = field(default_factory=tuple)
    # embedding models' sizes beside the ones streamwhisk knows (`[embedding_dimensions]`)
    embedding_dimensions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DEFAULT_SCRIPT) -> Script:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            replies = tuple(_reply(entry) for entry in data.get("reply", []))
            sizes = {str(k): int(v) for k, v in data.get("embedding_dimensions", {}).items()}
            if any(size < 1 for size in sizes.values()):
                raise ValueError("embedding_dimensions are positive numbers")
            return cls(tuple(data["models"]), frozenset(data.get("reasoning_models", [])),
                       replies, sizes)
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError,
                re.error) as exc:
            raise ConfigError(f"cannot use the dev model script {path}: {exc}") from exc

    def reply_for(self, prompt: str, model: str, earlier: tuple[str, ...] = ()) -> Reply:
        """The first reply whose pattern the prompt matches, filled in. `earlier` are the
        user's earlier messages, oldest first: what they told (the named groups of any
        pattern they match, the latest winning) fills the answer's other placeholders; a reply
        that names a fact never told answers its `missing` text instead."""
        facts = self.facts(earlier)
        for reply in self.replies:
            match = reply.pattern.search(prompt)
            if match is None:
                continue
            values = {**facts, **{k: v for k, v in match.groupdict().items() if v is not None},
                      "prompt": prompt, "model": model}
            if "n" in values and values["n"].isdigit():
                values["countdown"] = countdown(int(values["n"]))
            if reply.wants() - set(values):
                return Reply(reply.pattern, reply.missing or reply.answer).render(values)
            return reply.render(values)
        return Reply(re.compile(""), f"(no reply in the script matches {prompt!r})")

    def facts(self, messages: tuple[str, ...]) -> dict[str, str]:
        told: dict[str, str] = {}
        for message in messages:
            for reply in self.replies:
                if reply.pattern.groupindex and (match := reply.pattern.search(message)):
                    told.update({k: v for k, v in match.groupdict().items() if v is not None})
        return told

    def reasons(self, model: str) -> bool:
        """A reasoning model, or another size of one (`deepseek-r1:7b` as `deepseek-r1:32b`)."""
        family = model.split(":")[0]
        return model in self.reasoning_models or any(
            family == known.split(":")[0] for known in self.reasoning_models)


def _reply(entry: dict[str, Any]) -> Reply:
    return Reply(
        pattern=re.compile(entry["pattern"], re.IGNORECASE),
        answer=str(entry["answer"]),
        thinking=str(entry.get("thinking", "")),
        error=str(entry.get("error", "")),
        error_after=int(entry.get("error_after", 0)),
        repeat=max(1, int(entry.get("repeat", 1))),
        missing=str(entry.get("missing", "")),
    )
