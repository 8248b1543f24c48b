"""Kinds: which CPython on this machine runs `python:default`, `python:3` or `python:3.N`.

OpenServerless runs `python:default` on Python 3.12 and `python:3.N` on 3.N. Here each kind
runs on a matching interpreter found on the machine: `python3.N` on PATH, or an installed
pyenv version. `python:default` falls back to the newest interpreter from 3.11 on, with a
warning, so examples run on any machine that has Python 3.11+; an exact version has no
fallback, since its actions asked for that version.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RuntimeUnavailable
from ..project import DEFAULT_KIND

Version = tuple[int, int]

CLUSTER_DEFAULT: Version = (3, 12)  # what python:default is on OpenServerless
OLDEST_FALLBACK: Version = (3, 11)
OLDEST_SUPPORTED: Version = (3, 10)  # the oldest Python OpenServerless has a runtime for
_EXACT = re.compile(r"python:3\.(\d+)")
_EXECUTABLE = re.compile(r"python3\.(\d+)")


@dataclass(frozen=True)
class Kind:
    """A kind resolved to an interpreter of this machine."""

    name: str
    wanted: Version
    python: str
    version: Version

    @property
    def fallback(self) -> bool:
        return self.version != self.wanted

    @property
    def label(self) -> str:
        return f"{self.name} (Python {_dotted(self.version)})"

    def fallback_warning(self) -> str:
        return (f"warning: {self.name} runs on Python {_dotted(self.version)} here: "
                f"OpenServerless runs it on {_dotted(self.wanted)}, which this machine lacks; "
                f"install Python {_dotted(self.wanted)} (for example `pyenv install "
                f"{_dotted(self.wanted)}`) to run actions as the cluster does")

    def fallback_note(self) -> str:
        """What an action that fails on newer syntax is told, when this kind fell back."""
        if not self.fallback:
            return ""
        return (f"{self.name} is Python {_dotted(self.wanted)} on OpenServerless, but this "
                f"machine has no Python {_dotted(self.wanted)}, so it ran on "
                f"{_dotted(self.version)}: install Python {_dotted(self.wanted)} (for example "
                f"`pyenv install {_dotted(self.wanted)}`) to run it as the cluster does")


def wanted_version(kind: str) -> Version:
    """The Python version a kind asks for; a kind that names none is refused here."""
    if kind in ("", DEFAULT_KIND, "python:3"):
        return CLUSTER_DEFAULT
    match = _EXACT.fullmatch(kind)
    if match is None:
        raise RuntimeUnavailable(
            f"kind {kind!r} is not a Python kind streamwhisk knows: use python:default or "
            f"python:3.N (3.{OLDEST_SUPPORTED[1]} and newer)")
    version = (3, int(match.group(1)))
    if version < OLDEST_SUPPORTED:
        raise RuntimeUnavailable(
            f"kind {kind!r}: OpenServerless has no runtime for Python {_dotted(version)}; "
            f"use python:default or python:3.{OLDEST_SUPPORTED[1]} or newer")
    return version


def resolve(kind: str) -> Kind:
    """The interpreter that runs `kind` here, or RuntimeUnavailable saying what to install."""
    name = kind or DEFAULT_KIND
    wanted = wanted_version(name)
    found = interpreters()
    if wanted in found:
        return Kind(name, wanted, found[wanted], wanted)
    if name in (DEFAULT_KIND, "python:3"):
        usable = [v for v in found if v >= OLDEST_FALLBACK]
        if usable:
            newest = max(usable)
            return Kind(name, wanted, found[newest], newest)
        raise RuntimeUnavailable(
            f"kind {name} needs Python {_dotted(wanted)} (or at least "
            f"{_dotted(OLDEST_FALLBACK)}), and this machine has "
            f"{_listing(found)}: install Python {_dotted(wanted)}, for example with "
            f"`pyenv install {_dotted(wanted)}` or your system's python{_dotted(wanted)} package")
    raise RuntimeUnavailable(
        f"kind {name} needs Python {_dotted(wanted)}, and this machine has {_listing(found)}: "
        f"install it (for example `pyenv install {_dotted(wanted)}`, or your system's "
        f"python{_dotted(wanted)} package), or change the action's #--kind")


def interpreters() -> dict[Version, str]:
    """Every `python3.N` this machine has, newest patch of each: PATH first, then pyenv."""
    return dict(_search(os.environ.get("PATH", ""), os.environ.get("PYENV_ROOT", "")))


@functools.lru_cache(maxsize=8)
def _search(path: str, pyenv_root: str) -> tuple[tuple[Version, str], ...]:
    found: dict[Version, str] = {}
    for folder in path.split(os.pathsep):
        # pyenv's shims answer only for the versions selected in the current folder
        if not folder or Path(folder).name == "shims":
            continue
        for version, executable in _executables(Path(folder)):
            found.setdefault(version, executable)
    versions = Path(pyenv_root or Path.home() / ".pyenv") / "versions"
    installed = sorted(versions.glob("3.*/bin/python3.*"), key=_patch_order, reverse=True)
    for installed_python in installed:
        match = _EXECUTABLE.fullmatch(installed_python.name)
        if match and os.access(installed_python, os.X_OK):
            found.setdefault((3, int(match.group(1))), str(installed_python))
    return tuple(sorted(found.items()))


def _executables(folder: Path) -> list[tuple[Version, str]]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        match = _EXECUTABLE.fullmatch(name)
        if match and os.access(folder / name, os.X_OK):
            found.append(((3, int(match.group(1))), str(folder / name)))
    return found


def _patch_order(executable: Path) -> tuple[int, ...]:
    release = executable.parent.parent.name  # ~/.pyenv/versions/3.12.1/bin/python3.12
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def _dotted(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def _listing(found: dict[Version, str]) -> str:
    if not found:
        return "no python3.N interpreter on PATH or under pyenv"
    return "Python " + ", ".join(_dotted(v) for v in sorted(found))
