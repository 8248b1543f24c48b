"""Where streamwhisk keeps what it makes, outside every project.

    data   $STREAMWHISK_DATA_DIR, or $XDG_DATA_HOME/streamwhisk, or ~/.local/share/streamwhisk:
           the dev CA (ca/), what `up` was deployed (deployed/), what deploy created
           (deployments/), the key each `up` made for its run (run-keys/PORT), where each
           project's `up` runs (runs/NAME-HASH)
    cache  $STREAMWHISK_CACHE_DIR, or $XDG_CACHE_HOME/streamwhisk, or ~/.cache/streamwhisk:
           runtime environments (runtimes/, layers/) and deploy virtualenvs (deploy/)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """`text` into `path` by a rename: a reader sees the old file or the whole new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def data_root() -> Path:
    explicit = os.environ.get("STREAMWHISK_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "streamwhisk"


def cache_root() -> Path:
    explicit = os.environ.get("STREAMWHISK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamwhisk"


def run_key_file(url: str) -> Path:
    """Where the `up` at `url` keeps the key it made for its run (with its address)."""
    return data_root() / "run-keys" / url.rsplit(":", 1)[-1]


def project_key(project: Path) -> str:
    """A project's name in the data folder: its folder's name and a hash of its path."""
    root = project.resolve()
    return f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def project_run_file(project: Path) -> Path:
    """Where a project's running `up` notes its address and pid, for `chat` and `loader`."""
    return data_root() / "runs" / project_key(project)
