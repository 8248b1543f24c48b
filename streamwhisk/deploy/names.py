"""The names OpenWhisk accepts for packages and actions (its EntityName rule)."""

from __future__ import annotations

import re

from ..errors import ConfigError

# OpenWhisk's EntityName: a word character first; then word characters, '@', ' ', '.', '-';
# the last one not a space; at most 256 characters
_ENTITY = re.compile(r"\A(\w|\w[\w@ .-]*[\w@.-]+)\Z")
MAX_LENGTH = 256


def check_entity_name(name: str, what: str) -> str:
    if len(name) > MAX_LENGTH or not _ENTITY.match(name):
        raise ConfigError(
            f"{what} name {name!r} is one OpenWhisk refuses: start with a letter, digit or '_', "
            f"then use letters, digits, '_', '@', '.', '-' (at most {MAX_LENGTH} characters)")
    return name
