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

    def render(self, prompt: str, model: str) -> Reply:
        def fill(text: str) -> str:
            return text.replace("{prompt}", prompt).replace("{model}", model)

        return Reply(self.pattern, fill(self.answer) * self.repeat, fill(self.thinking),
                     self.error, self.error_after)


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

    def reply_for(self, prompt: str, model: str) -> Reply:
        for reply in self.replies:
            if reply.pattern.search(prompt):
                return reply.render(prompt, model)
        return Reply(re.compile(""), f"(no reply in the script matches {prompt!r})")

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
    )
