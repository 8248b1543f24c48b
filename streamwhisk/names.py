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
