"""Runtime environments: the interpreter and libraries an action runs with, built once, cached.

A kind's environment is a virtual environment made with the kind's interpreter, holding
exactly what the cluster's Python runtime of that kind preinstalls, at the cluster's pins
(`cluster/python-3.N.txt`, copied from apache/openserverless-runtimes), separate from
streamwhisk's own. What of it cannot be installed on this machine is named at build time and
kept beside the environment (`MISSING`), never skipped in silence. An action folder's
`requirements.txt` adds a layer over it: a folder that the installer fills (`--target`) and
that goes first on `sys.path`, as the `virtualenv/` of an OpenWhisk zip does. Both live under
the user's cache, keyed by what made them (interpreter, library list, requirements text), so
a change builds a new one and an unchanged one is reused;
a file lock keeps two servers from building the same one at once, and a folder counts only
once its completion marker is written.

`uv` (a dependency of streamwhisk) makes and fills them: with its download cache warm, a
rebuild takes seconds. A user's pip index settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL) are
honoured when no UV_* index is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from ..errors import RuntimeUnavailable
from ..paths import cache_root
from .kinds import Kind

Progress = Callable[[str], None]
COMPLETE = ".streamwhisk-complete"
MISSING = ".streamwhisk-missing.json"  # what of the cluster's list could not be installed here
CLUSTER = Path(__file__).with_name("cluster")  # python-3.N.txt: the cluster's list per kind
# beside the cluster's list, as its image has it: pymilvus 2.5 imports pkg_resources, which
# setuptools 81 no longer has
BASE_EXTRAS = "setuptools<81\n"
# what `streamwhisk test` and `shell` add to python:default: the course conftest's imports,
# and the REPL `shell` opens
TEST_TOOLS = "pytest\npython-dotenv\nipython\n"
TEST_TOOLS_NAMES = "pytest, python-dotenv, IPython"
# uv's lines worth showing as progress: what it resolved, fetched and installed
_SHOWN = re.compile(r"^(Resolved|Prepared|Installed|Downloading) ")
_PIP_TO_UV = {"PIP_INDEX_URL": "UV_DEFAULT_INDEX", "PIP_EXTRA_INDEX_URL": "UV_INDEX"}


@dataclass(frozen=True)
class RuntimeEnvironment:
    kind: Kind
    root: Path  # the virtual environment
    layer: Path | None = None  # installed requirements, first on sys.path
    extras: str = ""  # what the layer holds, in words

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    @property
    def key(self) -> str:
        return f"{self.root}:{self.layer or ''}"

    def describe(self) -> str:
        return self.kind.label + (f" + {self.extras}" if self.extras else "")


def libraries_file(kind: Kind) -> Path:
    """The kind's library list: the cluster's for the Python version the kind asks for (the
    nearest one for a version the cluster has no runtime of), or the user's own
    (STREAMWHISK_RUNTIME_LIBRARIES)."""
    configured = os.environ.get("STREAMWHISK_RUNTIME_LIBRARIES")
    if configured:
        return Path(configured).expanduser()
    lists = {int(p.stem.rsplit(".", 1)[1]): p for p in CLUSTER.glob("python-3.*.txt")}
    nearest = min(lists, key=lambda minor: (abs(minor - kind.wanted[1]), -minor))
    return lists[nearest]


def cluster_kinds() -> list[str]:
    """The kinds the cluster has a Python runtime of: python:3.11, python:3.12, ..."""
    versions = sorted((p.stem.removeprefix("python-") for p in CLUSTER.glob("python-3.*.txt")),
                      key=lambda v: tuple(map(int, v.split("."))))
    return [f"python:{version}" for version in versions]


def lock_file(kind: Kind) -> Path | None:
    """The whole set the kind's cluster list resolves to, every library pinned, transitive
    ones included (`make runtime-locks`): the cluster pins only its top-level libraries, and
    today's versions of the rest need not fit them (pyarrow 26 needs NumPy 2; the list pins
    1.26). None for the user's own list."""
    if os.environ.get("STREAMWHISK_RUNTIME_LIBRARIES"):
        return None
    lock = libraries_file(kind).with_suffix(".lock")
    return lock if lock.is_file() else None


def _libraries(kind: Kind) -> str:
    """What the kind's environment installs: the lock of its list, else the list itself."""
    lock = lock_file(kind)
    if lock is not None:
        return _read(lock, "the runtime's lock file")
    text = _read(libraries_file(kind), "the runtime's library list")
    configured = os.environ.get("STREAMWHISK_RUNTIME_LIBRARIES")
    return text if configured or not _requirement_names(text) else text + BASE_EXTRAS


def base_root(kind: Kind) -> Path:
    """Where the kind's environment is (or will be), named after what it is made of."""
    made_of = digest(os.path.realpath(kind.python), _libraries(kind))
    return cache_root() / "runtimes" / f"python{kind.version[0]}.{kind.version[1]}-{made_of}"


def is_built(folder: Path) -> bool:
    return (folder / COMPLETE).exists()


def base_environment(kind: Kind, progress: Progress) -> RuntimeEnvironment:
    """The kind's environment with the cluster's libraries, built now if it is not yet."""
    libraries = _libraries(kind)
    root = base_root(kind)

    def build() -> None:
        listed = _read(libraries_file(kind), "the runtime's library list")
        names = ", ".join(_requirement_names(listed)) or "no libraries"
        progress(f"building the {kind.label} runtime (first use; cached in {root}): {names}")
        run_installer([uv(), "venv", "--quiet", "--no-project", "--python", kind.python,
                       str(root)], f"create the {kind.label} runtime", progress, root.parent)
        if not _requirement_names(libraries):
            return
        failed = install_each(str(root / "bin" / "python"), libraries, root,
                              f"install {libraries_file(kind).name} into the {kind.label} "
                              "runtime", progress)
        (root / MISSING).write_text(json.dumps(failed, indent=2))
        for line, reason in failed.items():
            progress(f"  not installed on this machine: {line} ({reason}); actions that "
                     f"import it fail here, not on the cluster")

    build_once(root, build)
    return RuntimeEnvironment(kind, root)


def install_each(python: str, requirements: str, folder: Path, doing: str,
                 progress: Progress) -> dict[str, str]:
    """Install the list; when it cannot be installed whole, every line that can, and the
    lines that cannot, with why (uv's words). Nothing installable at all (no index, say)
    raises RuntimeUnavailable, as a single failure would."""
    try:
        install(python, requirements, folder, doing, progress)
        return {}
    except RuntimeUnavailable as whole:
        lines = _requirement_names(requirements)
        progress(f"  the whole list does not install here: trying its {len(lines)} lines one "
                 "by one, to name the ones that do not")
        failed: dict[str, str] = {}
        for line in lines:
            try:
                install(python, line + "\n", folder, doing, _quiet)
            except RuntimeUnavailable as exc:
                failed[line] = str(exc).split(": ", 1)[-1].split(". Check the names")[0]
        if len(failed) == len(lines):
            raise whole
        rest = "".join(f"{line}\n" for line in lines if line not in failed)
        install(python, rest, folder, doing, progress)  # the rest, resolved together
        return failed


def _quiet(line: str) -> None:
    pass


def layer_folder(base: RuntimeEnvironment, requirements: str) -> Path:
    return cache_root() / "layers" / f"{base.root.name}-{digest(requirements)}"


def layered(base: RuntimeEnvironment, requirements: str, folder: Path, what: str,
            progress: Progress, extras: str = "") -> RuntimeEnvironment:
    """`base` plus `requirements` (pip's requirements format, relative to `folder`); `what`
    names them in messages, `extras` in the environment's description."""
    layer = layer_folder(base, requirements)

    def build() -> None:
        progress(f"installing {what} into the {base.kind.label} runtime (cached by its "
                 f"content in {layer})")
        install(base.python, requirements, folder,
                f"install {what} into the {base.kind.label} runtime", progress, target=layer)

    build_once(layer, build)
    return RuntimeEnvironment(base.kind, base.root, layer, extras or what)


def install(python: str, requirements: str, folder: Path, doing: str, progress: Progress,
            target: Path | None = None) -> None:
    """Install `requirements` (pip's format, paths relative to `folder`) for `python`: into
    its environment, or into the folder `target`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="requirements-") as listing:
        listing.write(requirements)
        listing.flush()
        into = ["--target", str(target)] if target is not None else []
        run_installer([uv(), "pip", "install", "--python", python, *into, "-r", listing.name],
                      doing, progress, folder)


def uv() -> str:
    """The `uv` that came with streamwhisk (its PyPI package carries the binary)."""
    try:
        from uv import find_uv_bin
    except ImportError as exc:
        raise RuntimeUnavailable("uv is missing, and runtime environments are built with it: "
                                 "pip install uv (it comes with streamwhisk)") from exc
    return find_uv_bin()


def installer_environment() -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    if not any(key in env for key in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX")):
        env.update({uv_key: env[pip_key] for pip_key, uv_key in _PIP_TO_UV.items()
                    if env.get(pip_key)})
    return env


def build_once(folder: Path, build: Callable[[], None]) -> None:
    if is_built(folder):
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{folder}.lock"):
        if is_built(folder):
            return  # another process built it while we waited
        shutil.rmtree(folder, ignore_errors=True)  # what an interrupted build left
        try:
            build()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / COMPLETE).write_text("")


def run_installer(command: list[str], doing: str, progress: Progress, cwd: Path) -> None:
    """Run an installer, showing its steps; a failure says what it said and what to do."""
    with subprocess.Popen(command, cwd=cwd, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          env=installer_environment()) as process:
        said: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            said.append(line)
            if _SHOWN.search(line):
                progress(f"  {line.strip()}")
    if process.returncode != 0:
        raise RuntimeUnavailable(
            f"cannot {doing}: {_installer_reason(said)}. Check the names and versions asked "
            "for; the installer must reach its package index (PyPI, or UV_DEFAULT_INDEX / "
            "PIP_INDEX_URL) the first time")


def _installer_reason(said: list[str]) -> str:
    """uv's own explanation, on one line, and the network's when the index was not reached."""
    # uv draws its explanation as a tree: the marks go, the words stay
    lines = [line.strip().lstrip("\u00d7\u2570\u2500\u25b6 ").strip() for line in said
             if line.strip()]
    lines = [re.sub(r"^(error|cause|caused by): ", "", line) for line in lines
             if not line.startswith(("help:", "Using Python", "Using CPython"))]
    reason = " ".join(lines)
    unreachable = [line for line in lines if re.search(
        r"connection refused|failed to connect|dns error|timed out|tcp connect",
        line, re.IGNORECASE)]
    if unreachable:
        reason += f" (the package index could not be reached: {unreachable[-1]})"
    return reason or "the installer failed"


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuntimeUnavailable(f"cannot read {what} {path}: {exc}") from exc


def _requirement_names(requirements: str) -> list[str]:
    lines = (line.split("#")[0].strip() for line in requirements.splitlines())
    return [line for line in lines if line]


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
