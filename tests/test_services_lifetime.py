"""A platform service dies with its server, however the server ends; one that stops by
itself is started again once, then named by the actions that need it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support import alive, copy_project, count, needs_redis, service_pid

from streamwhisk.actionloop.tree import children
from streamwhisk.testing import serve, wait_until


@pytest.mark.parametrize(("service", "program"), [
    pytest.param("redis", b"redis-server", marks=needs_redis), ("s3", b"weed"),
    ("postgres", b"postgres"), ("milvus", b"python")])
def test_a_service_dies_with_a_server_that_is_killed(tmp_path: Path, service: str,
                                                     program: bytes) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", service, log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: f"service {service} ready in" in up.log(), timeout=60)
        pid = service_pid(up, program)
        up.process.send_signal(signal.SIGKILL)
        up.process.wait()
    assert wait_until(lambda: not alive(pid), timeout=15), f"{service} outlived its server"


@needs_redis
def test_a_service_that_stops_is_started_again_once_then_named_by_the_actions_that_need_it(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service redis ready in" in up.log(), timeout=30)
        assert count(up)["count"] == 1
        os.kill(service_pid(up), signal.SIGKILL)
        assert wait_until(lambda: up.log().count("service redis ready in") == 2, timeout=30)
        assert "stopped unexpectedly (exit -9)" in up.log()
        assert "starting it again" in up.log()
        assert count(up)["count"] >= 1  # served again (its snapshot may predate the count)
        os.kill(service_pid(up), signal.SIGKILL)
        assert wait_until(lambda: "not again: it stays stopped" in up.log(), timeout=30)
        refused = httpx.get(up.url + "/api/my/cache/counter", timeout=30)
        assert refused.status_code == 503
        assert refused.json()["error"].startswith(
            "the redis service this action uses is not running (it stopped (exit -9)")
        assert httpx.get(up.url + "/api/my/cache/plain", timeout=30).text == "needs no service"


def test_data_survives_up_killed_again_and_again(tmp_path: Path) -> None:
    """S3, Postgres and Milvus keep what was written, whatever the run that wrote it became;
    Postgres with a client still connected stops with its server, and its lock file is no
    obstacle to the next start."""
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
                                  "S3_HOST": None, "POSTGRES_URL": None, "MILVUS_HOST": None}
    for run in range(3):
        with serve(project, "--services", "s3,postgres,milvus", log_path=tmp_path / f"{run}.log",
                   env=env) as up:
            assert wait_until(lambda up=up: up.log().count(" ready in ") == 3, timeout=120), \
                up.log()
            stored = httpx.get(f"{up.url}/api/my/files/store", timeout=60)
            assert stored.status_code == 200, (stored.text, up.log()[-3000:])
            kept = stored.json()["listed"]
            assert kept == [f"run{n}.txt" for n in range(run)]
            notes = httpx.get(f"{up.url}/api/my/db/notes", params={"add": f"run{run}"},
                              timeout=60).json()["notes"]
            assert notes == [f"run{n}" for n in range(run + 1)]
            found = httpx.post(f"{up.url}/api/my/vector/search", timeout=120,
                               json={"add": [f"run {run}"], "search": "run 0"}).json()
            assert found["count"] == run + 1, found
            httpx.get(f"{up.url}/api/my/files/store", params={"put": f"run{run}.txt",
                                                             "text": "x"}, timeout=60)
            holding = threading.Thread(target=lambda up=up: _quietly(
                lambda: httpx.get(f"{up.url}/api/my/db/notes", params={"hold": "60"},
                                  timeout=90)), daemon=True)
            holding.start()
            services = [service_pid(up, program) for program in (b"postgres", b"weed")]
            assert wait_until(lambda pid=services[0]: _a_client_waits(pid), timeout=30)
            up.process.send_signal(signal.SIGKILL)
            up.process.wait()
            assert wait_until(lambda services=services: not any(alive(p) for p in services),
                              timeout=5), "a service outlived its killed server"


def _a_client_waits(postmaster: int) -> bool:
    """A client is connected and idle: Postgres names its backend so (`... idle in
    transaction`)."""
    for backend in children(postmaster):
        with contextlib.suppress(OSError):
            if b" idle" in Path(f"/proc/{backend}/cmdline").read_bytes():
                return True
    return False


def _quietly(call: Callable[[], object]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()
