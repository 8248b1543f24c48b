"""A folder action as OpenWhisk's Python runtime takes it: a zip with `__main__.py` at its root
and, for a `requirements.txt`, the libraries in a `virtualenv/` folder, which the runtime
activates through `virtualenv/bin/activate_this.py` before loading the action.

The virtualenv is made with the `virtualenv` tool (it writes `activate_this.py`, which the
standard library's venv does not) and the interpreter of the action's kind, so compiled
libraries match the cluster's Python; it is cached by the requirements' content, so an
unchanged `requirements.txt` is not installed again. The zip is byte-for-byte the same for the
same files (fixed timestamps, sorted names), so an unchanged action sends the same bytes.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError, RuntimeUnavailable
from ..paths import cache_root
from ..project import DEFAULT_KIND, ActionSpec
from ..runtime.environments import Progress, build_once, digest, install, run_installer
from ..runtime.kinds import resolve

SKIPPED_FOLDERS = {"__pycache__", "virtualenv", ".venv", ".git", "node_modules"}
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_action(spec: ActionSpec, progress: Progress) -> bytes:
    """The action's folder (and its virtualenv, when it has a requirements.txt) as a zip."""
    virtualenv = deploy_virtualenv(spec, progress)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(spec.code_dir):
            _add(archive, path, path.relative_to(spec.code_dir).as_posix())
        if virtualenv is not None:
            for path in _files(virtualenv, skip_links=True):
                _add(archive, path, "virtualenv/" + path.relative_to(virtualenv).as_posix())
    return buffer.getvalue()


def deploy_virtualenv(spec: ActionSpec, progress: Progress) -> Path | None:
    """The action's requirements in a relocatable virtualenv, built once per content."""
    requirements = spec.requirements
    if requirements is None:
        return None
    kind = resolve(spec.annotations.kind or DEFAULT_KIND)
    if kind.fallback:
        raise RuntimeUnavailable(
            f"{spec.qualified}'s virtualenv must be built with Python "
            f"{kind.wanted[0]}.{kind.wanted[1]}, the cluster's for {kind.name}, and this "
            f"machine has none: install it (for example `pyenv install "
            f"{kind.wanted[0]}.{kind.wanted[1]}`)")
    text = requirements.read_text(encoding="utf-8")
    folder = cache_root() / "deploy" / (
        f"python{kind.version[0]}.{kind.version[1]}-{digest(os.path.realpath(kind.python), text)}")
    virtualenv = folder / "virtualenv"
    what = f"{spec.qualified}'s requirements.txt"

    def build() -> None:
        folder.mkdir(parents=True)
        progress(f"building the virtualenv of {what} with {kind.label} (cached by its content)")
        run_installer([sys.executable, "-m", "virtualenv", "--quiet", "--python", kind.python,
                       "--no-pip", "--no-setuptools", "--no-wheel", "--no-periodic-update",
                       str(virtualenv)], f"create the virtualenv of {what}", progress, folder)
        install(str(virtualenv / "bin" / "python"), text, spec.code_dir,
                f"install {what} into its virtualenv", progress)

    build_once(folder, build)
    if not (virtualenv / "bin" / "activate_this.py").is_file():
        raise ConfigError(f"the virtualenv of {what} has no bin/activate_this.py: delete "
                          f"{folder} and deploy again")
    return virtualenv


def _files(root: Path, skip_links: bool = False) -> Iterator[Path]:
    for base, folders, names in os.walk(root):
        folders[:] = sorted(d for d in folders if d not in SKIPPED_FOLDERS
                            and not (skip_links and os.path.islink(os.path.join(base, d))))
        for name in sorted(names):
            path = Path(base) / name
            if skip_links and path.is_symlink():
                continue  # bin/python: the cluster has its own interpreter
            if name.endswith((".pyc", ".pyo")):
                continue
            yield path


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
    archive.writestr(info, path.read_bytes())
