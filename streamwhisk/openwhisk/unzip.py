"""A deployed action's zip (`exec.code`, base64), checked and unpacked as OpenWhisk takes it:
within its size limits, no path outside itself, no symbolic link, a `__main__.py` at its
root."""

from __future__ import annotations

import base64
import binascii
import io
import stat
import zipfile
from pathlib import Path

from ..errors import DeployRefused, TooLargeToDeploy

# OpenWhisk's 48 MB limit for an action's code holds for what its zip unpacks to as well
MAX_UNPACKED_BYTES = 48 * 1024 * 1024
MAX_ENTRIES = 10_000


def is_zip(code: str) -> bool:
    try:
        return base64.b64decode(code[:8], validate=True).startswith(b"PK")
    except (binascii.Error, ValueError):
        return False


def unpack(code: str, folder: Path) -> None:
    """The zip, unpacked into `folder`; DeployRefused naming what is wrong with it.
    Slow for a big zip: callers run it off the event loop."""
    try:
        data = base64.b64decode(code, validate=True)
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (binascii.Error, ValueError, zipfile.BadZipFile) as exc:
        raise DeployRefused(f"exec.code is not a base64 zip: {exc}") from exc
    with archive:
        entries = archive.infolist()
        _check_entries(entries)
        try:
            archive.extractall(folder)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
                EOFError) as exc:  # a bad CRC, a truncated entry, a file where a folder is
            raise DeployRefused(f"The zip cannot be unpacked: {exc}") from exc
    if not (folder / "__main__.py").is_file():
        raise DeployRefused("The zip has no __main__.py at its root.")


def _check_entries(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise TooLargeToDeploy(f"The zip holds {len(entries)} entries, over the {MAX_ENTRIES} "
                               "streamwhisk up unpacks.")
    if sum(info.file_size for info in entries) > MAX_UNPACKED_BYTES:
        raise TooLargeToDeploy(f"The zip unpacks to more than "
                               f"{MAX_UNPACKED_BYTES // 1024 // 1024} MB, OpenWhisk's limit "
                               "for an action.")
    for info in entries:
        parts = Path(info.filename).parts
        if info.filename.startswith("/") or ".." in parts:
            raise DeployRefused(f"The zip holds a path outside itself: {info.filename}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DeployRefused(f"The zip holds a symbolic link, which streamwhisk up does not "
                                f"unpack: {info.filename}")
