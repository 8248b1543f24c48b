"""What tests share, in one module (tests import helpers from here, never from each other or
from conftest): fixture projects copied, a command run as a user types it, whether a process
lives, the edges project's secret, a first-use project, and for the services a check that
Redis is installed, a count through the cache action, a service's pid below its server, the
course-layout project."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from package_index import PackageIndex

from streamwhisk.redact import spellings
from streamwhisk.testing import RunningServer

T = TypeVar("T")
FIXTURES = Path(__file__).parent / "fixtures"
COURSE_AUTH = "6b4c8e2a-course-learner:course-secret-key-42"

SECRET = 'p@ss\\w"ord%41 é+x'
NESTED = "nested-t0ken-value"


def copy_project(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(FIXTURES / name, target)
    return target


def run_streamwhisk(*args: str, env: dict[str, str], stdin: str = "",
                    cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A `streamwhisk` command, as a user types it, to its end."""
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=180, cwd=cwd)


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)` in a thread of its own: a test process may already hold a running
    event loop in its main thread (Playwright's sync API does, once a page test ran)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_no_secret(text: str) -> None:
    for spelling in [*spellings(SECRET), NESTED]:
        assert spelling not in text, f"{spelling!r} leaked"


PATIENT = ("#--web true\ndef main(args):\n    import greeting\n"
           "    return {'body': greeting.hello('you')}\n")
HASTY = "#--web true\n#--timeout 1000\n" + PATIENT.removeprefix("#--web true\n")


def first_use_project(root: Path) -> Path:
    (root / "packages" / "f").mkdir(parents=True)
    (root / "packages" / "f" / "patient.py").write_text(PATIENT)
    (root / "packages" / "f" / "hasty.py").write_text(HASTY)
    return root


def fresh_home_env(tmp_path: Path, index: PackageIndex) -> dict[str, str | None]:
    libraries = tmp_path / "libraries.txt"
    libraries.write_text("greeting==1.0\n")
    return {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": None, "XDG_DATA_HOME": None,
            "STREAMWHISK_CACHE_DIR": None, "STREAMWHISK_RUNTIME_LIBRARIES": str(libraries),
            "PIP_INDEX_URL": index.url, "UV_HTTP_RETRIES": "0"}


needs_redis = pytest.mark.skipif(
    not any(Path(d, "redis-server").exists() for d in os.environ["PATH"].split(os.pathsep)),
    reason="redis-server is not installed: `make setup` installs Debian's package")


def count(server: RunningServer) -> dict[str, object]:
    answer = httpx.get(server.url + "/api/my/cache/counter", timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def service_pid(server: RunningServer, program: bytes = b"redis-server") -> int:
    """The service's own process (below its keeper, below the server)."""
    from streamwhisk.actionloop.tree import descendants

    for pid in descendants(server.pid):
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it ended since it was listed (a Postgres backend, a worker's child)
        if program in arguments[0] and b"streamwhisk.services.supervise" not in arguments:
            return pid
    raise AssertionError(f"no {program!r} below the server")


def services_course(destination: Path) -> Path:
    """The course-layout project of the service lessons: its own actions and tests, the
    service actions of services_project, and the course's conftest (each written once)."""
    project = destination / "services_course"
    shutil.copytree(FIXTURES / "services_course", project)
    for package in ("cache", "files", "db", "vector"):
        shutil.copytree(FIXTURES / "services_project" / "packages" / package,
                        project / "packages" / package, dirs_exist_ok=True)
    shutil.copy(FIXTURES / "course_project" / "tests" / "conftest.py",
                project / "tests" / "conftest.py")
    return project
