"""`streamwhisk user add|update|delete NAME`: the users of the project's `mastrogpt/login`,
kept as `ops ai user` keeps them: `packages/mastrogpt/login/users.json`, a name to a bcrypt
hash, which the course's login checks with `bcrypt.checkpw`. The login reads the file at each
call, so a running `up` logs the user in at once.

Each change is read, made and written under a lock (commands run at once keep every change),
written whole (a temporary file of its own, then renamed) and private to its user (0600)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt

from ..errors import ProjectError

LOGIN = Path("packages") / "mastrogpt" / "login"
MIN_PASSWORD = 6
MAX_PASSWORD_BYTES = 72  # what bcrypt reads of a password; the rest would be ignored
# what the login can take as a name: no separator of a URL or of HTTP basic auth, no control
UNUSABLE_NAME = re.compile(r"[:/\\\s\x00-\x1f\x7f]")


def users_file(project: Path) -> Path:
    folder = project / LOGIN
    if not folder.is_dir():
        raise ProjectError(f"{project.resolve()} has no {LOGIN}/ action: its users.json is "
                           "where the users go (the starter's login is one)")
    return folder / "users.json"


def load(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        users = json.loads(path.read_text())
    except ValueError as exc:
        raise ProjectError(f"{path} is not JSON ({exc}): fix it or remove it") from exc
    if not isinstance(users, dict):
        raise ProjectError(f"{path} must hold an object of user names to bcrypt hashes")
    return {str(k): str(v) for k, v in users.items()}


def save(path: Path, users: dict[str, str]) -> None:
    fd, temporary = tempfile.mkstemp(prefix=".users-", dir=path.parent)  # 0600, its own
    try:
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(users, indent=2) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.parent / ".users.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _change(project: Path, change: Callable[[Path, dict[str, str]], None]) -> Path:
    path = users_file(project)
    with _locked(path):
        users = load(path)
        change(path, users)
        save(path, users)
    return path


def check_name(name: str) -> None:
    if not name or UNUSABLE_NAME.search(name):
        raise ProjectError(f"{name!r} cannot log in: a user name is not empty and has no "
                           "':', '/', '\\', space or control character")


def set_password(project: Path, name: str, password: str, update: bool) -> Path:
    """Add `name` (refused when there), or update its password (refused when not)."""
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise ProjectError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ProjectError(f"the password is too long: bcrypt reads {MAX_PASSWORD_BYTES} bytes "
                           "of it at most, and would ignore the rest; choose a shorter one")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()

    def put(path: Path, users: dict[str, str]) -> None:
        if update and name not in users:
            raise ProjectError(f"no user {name} in {path}: `streamwhisk user add {name}`")
        if not update and name in users:
            raise ProjectError(f"{name} is a user already: `streamwhisk user update {name}`")
        users[name] = hashed

    return _change(project, put)


def delete(project: Path, name: str) -> Path:
    def remove(path: Path, users: dict[str, str]) -> None:
        if name not in users:
            raise ProjectError(f"no user {name} in {path}")
        del users[name]

    return _change(project, remove)
