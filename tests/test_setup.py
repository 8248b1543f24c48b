"""`make setup` twice at once on a fresh clone: the two take turns under the set-up lock, and
the second finds the first one's work done. The installers are stand-ins that record when they
run (a test may not reach the package registries); make, flock, the virtualenv are real."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("Makefile", "pyproject.toml", "uv.lock", "streamwhisk/web/package.json",
         "streamwhisk/web/package-lock.json", "tests/interop/package.json",
         "tests/interop/package-lock.json")


def fake_installer(folder: Path, journal: Path) -> Path:
    """Records its start and end around a second of work; `npm ci` makes node_modules."""
    script = folder / "installer"
    script.write_text(f"""#!/bin/sh
echo "start $$ $*" >> {journal}
sleep 1
case "$*" in *ci*) mkdir -p node_modules ;; esac
echo "end $$" >> {journal}
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_two_setups_at_once_on_a_fresh_clone_take_turns(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    for name in FILES:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, clone / name)
    journal = tmp_path / "journal"
    installer = fake_installer(tmp_path, journal)
    overrides = [f"PYTHON={sys.executable}", f"PIP={installer} pip",
                 f"UV_SYNC={installer} uv sync --locked", f"NPM_CI={installer} npm ci",
                 f"RUNTIMES={installer} runtimes", "REDIS_SERVER=true"]
    makes = [subprocess.Popen(["make", "--no-print-directory", "setup", *overrides],
                              cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ, "MAKEFLAGS": ""}) for _ in range(2)]
    outputs = [make.communicate(timeout=240)[0].decode() for make in makes]
    assert [make.returncode for make in makes] == [0, 0], outputs
    lines = journal.read_text().splitlines()
    # never two at once: every start is followed by its own end
    for start, end in zip(lines[::2], lines[1::2], strict=True):
        assert start.startswith("start ") and end == f"end {start.split()[1]}", lines
    steps = [line.split(" ", 2)[2] for line in lines if line.startswith("start ")]
    # the one-time steps ran once; `runtimes` (it checks its own cache) once per make
    # uv at the version the lock names, then the Python side exactly as the lock says
    assert steps.count(f"pip install --quiet uv=={locked_uv_version()}") == 1, steps
    assert steps.count("uv sync --locked") == 1, steps
    assert steps.count("npm ci") == 2, steps  # the page's libraries, and the interop client's
    assert steps.count("runtimes") == 2, steps
    assert (clone / ".venv" / "bin" / "python").exists()


def locked_uv_version() -> str:
    lock = (REPO / "uv.lock").read_text()
    return lock.split('name = "uv"\nversion = "', 1)[1].split('"', 1)[0]


def test_the_lock_file_pins_every_dependency_pyproject_names() -> None:
    """`make setup` installs from uv.lock; a dependency missing there would float."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = {package["name"]: package["version"]
              for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    for requirement in wanted:
        name = requirement.split(";")[0].split("[")[0]
        for mark in "<>=!~ ":
            name = name.split(mark)[0]
        assert name.lower().replace("_", "-") in locked, f"{name} is not in uv.lock"
