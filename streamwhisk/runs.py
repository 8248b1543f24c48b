"""Which `up` serves a project: `up` notes its address while it runs, and `chat`, `loader`,
`invoke` and `action` find it there, whatever port it took."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .paths import project_run_file, write_whole


def note(project: Path, url: str) -> None:
    path = project_run_file(project)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_whole(path, f"{url}\n{os.getpid()}\n")


def forget(project: Path) -> None:
    """This process's note only: a second `up` of the project may have written its own."""
    path = project_run_file(project)
    with contextlib.suppress(OSError):
        if _read(path)[1] == os.getpid():
            path.unlink()


def running_url(project: Path) -> str | None:
    """The address of the project's running `up`, if one runs."""
    url, pid = _read(project_run_file(project))
    if not url or not _alive(pid):
        return None
    return url


def _read(path: Path) -> tuple[str, int]:
    try:
        url, pid = [*path.read_text().split("\n"), "", ""][:2]
        return url.strip(), int(pid)
    except (OSError, ValueError):
        return "", 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
