"""The one rule for package and action names: OpenWhisk's EntityName.

A word character (ASCII, as in OpenWhisk's Java regex) first; then word characters, '@', ' ',
'.', '-'; the last one not a space; at most 256 characters. A name that passes holds no '/'
and cannot be '.' or '..', so it is also safe as a folder name.
"""

from __future__ import annotations

import re

from .errors import InvalidName

# where an action created without a package lives: OpenWhisk's web URLs name it so
# (/api/v1/web/guest/default/reverse)
DEFAULT_PACKAGE = "default"
_ENTITY = re.compile(r"\A(\w|\w[\w@ .-]*[\w@.-]+)\Z", re.ASCII)
MAX_LENGTH = 256


def check_entity_name(name: str, what: str = "entity") -> str:
    if len(name) > MAX_LENGTH or not _ENTITY.match(name):
        raise InvalidName(
            f"{what} name {name!r} is one OpenWhisk refuses: start with a letter, digit or '_', "
            f"then use letters, digits, '_', '@', '.', '-' or spaces (ASCII only, not ending "
            f"in a space, at most {MAX_LENGTH} characters)")
    return name


def validate_name(part: str) -> str:
    return check_entity_name(part, "package or action")


def split_action_name(name: str) -> tuple[str, str]:
    """`pkg/action` (a leading `/ns/` or `/` is allowed) into its package and action; an
    action with no package (`reverse`) is in OpenWhisk's default package."""
    parts = [p for p in name.strip("/").split("/") if p]
    if len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 1:
        parts = [DEFAULT_PACKAGE, *parts]
    if len(parts) != 2:
        raise InvalidName(f"name the action as package/action (or action), not {name!r}")
    return validate_name(parts[0]), validate_name(parts[1])
