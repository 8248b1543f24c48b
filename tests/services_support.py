"""What the service tests share: a check that Redis is installed, a count through the
cache action, the pid of a service below a server, the course-layout project."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from streamwhisk.testing import RunningServer

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


FIXTURES = Path(__file__).parent / "fixtures"


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
