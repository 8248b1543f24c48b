"""Runtime environments: the interpreter and libraries an action runs with, built once, cached.

A kind's environment is a virtual environment made with the kind's interpreter, holding the
default libraries of OpenServerless's Python runtime (`python-runtime.txt`), separate from
streamwhisk's own. An action folder's `requirements.txt` adds a layer over it: a folder that
pip installs into (`--target`) and that goes first on `sys.path`, as the `virtualenv/` of an
OpenWhisk zip does. Both live under the user's cache, keyed by what made them (interpreter,
library list, requirements text), so a change builds a new one and an unchanged one is reused;
a file lock keeps two servers from building the same one at once, and a folder counts only
once its completion marker is written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from ..errors import RuntimeUnavailable
from ..paths import cache_root
from .kinds import Kind

Progress = Callable[[str], None]
COMPLETE = ".streamwhisk-complete"
DEFAULT_LIBRARIES = Path(__file__).with_name("python-runtime.txt")
# what `streamwhisk test` and `shell` add to python:default: the course conftest's imports
TEST_TOOLS = "pytest\npython-dotenv\n"
INSTALL = ("install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off")
_SHOWN = ("Collecting ", "Installing collected", "Successfully installed")


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


def libraries_file() -> Path:
    """The default library list, or the user's own (STREAMWHISK_RUNTIME_LIBRARIES)."""
    configured = os.environ.get("STREAMWHISK_RUNTIME_LIBRARIES")
    return Path(configured).expanduser() if configured else DEFAULT_LIBRARIES


def base_environment(kind: Kind, progress: Progress) -> RuntimeEnvironment:
    """The kind's environment with the default libraries, built now if it is not yet."""
    libraries = _read(libraries_file(), "the runtime's library list")
    made_of = digest(os.path.realpath(kind.python), libraries)
    root = cache_root() / "runtimes" / f"python{kind.version[0]}.{kind.version[1]}-{made_of}"

    def build() -> None:
        names = ", ".join(_requirement_names(libraries)) or "no libraries"
        progress(f"building the {kind.label} runtime (first use; cached in {root}): {names}")
        venv = [kind.python, "-m", "venv", str(root)]
        # streamwhisk's own pip installs into it (`pip --python`): a venv without one is
        # made in a quarter of a second instead of eight
        run_installer(venv + (["--without-pip"] if _OWN_PIP else []),
                      f"create the {kind.label} runtime", progress, root.parent)
        if _requirement_names(libraries):
            listing = root / "python-runtime.txt"
            listing.write_text(libraries)
            run_installer([*pip_for(root), *INSTALL, "-r", str(listing)],
                          f"install {libraries_file().name} into the {kind.label} runtime",
                          progress, root)

    build_once(root, build)
    return RuntimeEnvironment(kind, root)


def layered(base: RuntimeEnvironment, requirements: str, folder: Path, what: str,
            progress: Progress, extras: str = "") -> RuntimeEnvironment:
    """`base` plus `requirements` (pip's requirements format, relative to `folder`); `what`
    names them in messages, `extras` in the environment's description."""
    layer = cache_root() / "layers" / f"{base.root.name}-{digest(requirements)}"

    def build() -> None:
        progress(f"installing {what} into the {base.kind.label} runtime (cached by its "
                 f"content in {layer})")
        run_installer([*pip_for(base.root), *INSTALL, "--target", str(layer), "-r",
                       "/dev/stdin"], f"install {what} into the {base.kind.label} runtime",
                      progress, folder, stdin=requirements)

    build_once(layer, build)
    return RuntimeEnvironment(base.kind, base.root, layer, extras or what)


_OWN_PIP = importlib.util.find_spec("pip") is not None


def pip_for(root: Path) -> list[str]:
    """pip, working on the environment at `root` with that environment's interpreter."""
    python = str(root / "bin" / "python")
    return [sys.executable, "-m", "pip", "--python", python] if _OWN_PIP else [
        python, "-m", "pip"]


def build_once(folder: Path, build: Callable[[], None]) -> None:
    if (folder / COMPLETE).exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{folder}.lock"):
        if (folder / COMPLETE).exists():
            return  # another process built it while we waited
        shutil.rmtree(folder, ignore_errors=True)  # what an interrupted build left
        try:
            build()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / COMPLETE).write_text("")


def run_installer(command: list[str], doing: str, progress: Progress, cwd: Path,
         stdin: str | None = None) -> None:
    """Run an installer, showing its steps; a failure says what pip said and what to do."""
    with subprocess.Popen(command, cwd=cwd, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL
                          ) as process:
        if stdin is not None and process.stdin is not None:
            process.stdin.write(stdin)
            process.stdin.close()
        said: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            said.append(line)
            if line.startswith(_SHOWN):
                progress(f"  {line.split(' (from ')[0]}")
    if process.returncode != 0:
        errors = [line for line in said if line.startswith("ERROR")] or said[-3:]
        unreachable = [line for line in said if "connection" in line.lower()]
        if unreachable:  # pip only warns of it, then says it found nothing
            reason = re.search(r"Failed to establish a new connection: ([^\"')]+)",
                               unreachable[-1])
            errors.append(f"(the package index could not be reached: "
                          f"{reason.group(1) if reason else unreachable[-1]})")
        raise RuntimeUnavailable(
            f"cannot {doing}: {' '.join(errors).strip() or 'the installer failed'}. Check the "
            "names and versions asked for; pip must reach its package index (PyPI, or "
            "PIP_INDEX_URL) the first time")


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


_COMPILE = """import json, sys
errors = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as file:
            compile(file.read(), path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        errors[path] = f"{exc.lineno}: syntax error: {exc.msg}"
print(json.dumps(errors))
"""


def syntax_problems(python_of: Mapping[Path, str], root: Path
                    ) -> tuple[dict[Path, str], dict[Path, str]]:
    """One compile check per interpreter, of the files given to it (`python_of[file]`): the
    files it rejects, as `file:line: syntax error: ...` with `file` relative to `root`, and the
    files whose interpreter does not start, with why."""
    by_python: dict[str, list[Path]] = {}
    for path, python in python_of.items():
        by_python.setdefault(python, []).append(path)
    rejected: dict[Path, str] = {}
    unchecked: dict[Path, str] = {}
    for python, files in by_python.items():
        try:
            found = syntax_errors(python, files)
        except RuntimeUnavailable as exc:
            unchecked.update(dict.fromkeys(files, str(exc)))
            continue
        rejected.update({path: f"{path.relative_to(root)}:{reason}"
                         for path, reason in found.items()})
    return rejected, unchecked


def syntax_errors(python: str, files: list[Path]) -> dict[Path, str]:
    """The files that this interpreter cannot compile, with line and reason."""
    if not files:
        return {}
    done = subprocess.run([python, "-I", "-c", _COMPILE, *map(str, files)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeUnavailable(f"{python} does not start: {done.stderr.strip()[-300:]}")
    return {Path(path): reason for path, reason in json.loads(done.stdout).items()}
