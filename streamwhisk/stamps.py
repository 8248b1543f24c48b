"""What identifies a set of files' contents now, cheaply: an action is loaded again only when
its stamp changes."""

from __future__ import annotations

import os
import stat
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

RACY_WINDOW_NS = 3_000_000_000
Stamp = tuple[tuple[str, int, int], ...]


def python_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "virtualenv", ".venv")]
        files.extend(Path(base) / n for n in names if n.endswith((".py", ".txt", ".json")))
    return sorted(files)


def stamp(paths: Sequence[str]) -> Stamp:
    """What identifies these files' contents: size and mtime, and a checksum of recent ones.

    Two saves within the clock's granularity can leave mtime and size alone; as git does with
    "racy" entries, a file modified in the last seconds is identified by its bytes as well (a
    folder by its listing).
    """
    stamps = []
    now = time.time_ns()
    for path in paths:
        try:
            info = os.stat(path)
            checksum = 0
            if now - info.st_mtime_ns < RACY_WINDOW_NS:
                if stat.S_ISDIR(info.st_mode):
                    checksum = zlib.crc32("\0".join(sorted(os.listdir(path))).encode())
                else:
                    with open(path, "rb") as file:
                        checksum = zlib.crc32(file.read())
        except OSError:
            stamps.append((path, -1, -1))
        else:
            stamps.append((path, info.st_mtime_ns ^ checksum, info.st_size))
    return tuple(stamps)
