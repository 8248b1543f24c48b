"""`streamwhisk user add|update|delete NAME`: the users of the project's `mastrogpt/login`,
kept as `ops ai user` keeps them: `packages/mastrogpt/login/users.json`, a name to a bcrypt
hash, which the course's login checks with `bcrypt.checkpw`. The login reads the file at each
call, so a running `up` logs the user in at once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import bcrypt

from ..errors import ProjectError

LOGIN = Path("packages") / "mastrogpt" / "login"
MIN_PASSWORD = 6


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
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(users, indent=2) + "\n")
    os.replace(temporary, path)


def set_password(project: Path, name: str, password: str, update: bool) -> Path:
    """Add `name` (refused when there), or update its password (refused when not)."""
    if len(password) < MIN_PASSWORD:
        raise ProjectError(f"the password is too short: at least {MIN_PASSWORD} characters")
    path = users_file(project)
    users = load(path)
    if update and name not in users:
        raise ProjectError(f"no user {name} in {path}: `streamwhisk user add {name}`")
    if not update and name in users:
        raise ProjectError(f"{name} is a user already: `streamwhisk user update {name}`")
    users[name] = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    save(path, users)
    return path


def delete(project: Path, name: str) -> Path:
    path = users_file(project)
    users = load(path)
    if name not in users:
        raise ProjectError(f"no user {name} in {path}")
    del users[name]
    save(path, users)
    return path
