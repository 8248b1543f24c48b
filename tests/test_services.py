"""The platform services, as up starts them: for the actions that name their variables,
stopped with the server, refused in one line when they cannot start."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
from support import alive, copy_project, count, needs_redis, service_pid

from streamwhisk.testing import serve, wait_until


@needs_redis
def test_redis_is_started_for_the_actions_that_name_it_and_keeps_its_data(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None, "REDIS_PREFIX": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, log_path=tmp_path / "first.log", env=env) as first:
        assert wait_until(lambda: "service redis ready in" in first.log(), timeout=30)
        assert count(first) == {"count": 1, "key": "guest:counter"}
        assert count(first)["count"] == 2
        log = first.log()
        assert "service redis at 127.0.0.1:" in log
        assert str(tmp_path / "data" / "services") in log
        secret = next((tmp_path / "data" / "services").rglob(".secret")).read_text().strip()
        pid = service_pid(first)
    assert secret not in log
    assert wait_until(lambda: not alive(pid), timeout=10), "redis outlived its server"
    with serve(project, log_path=tmp_path / "again.log", env=env) as again:
        assert wait_until(lambda: "service redis ready in" in again.log(), timeout=30)
        assert count(again)["count"] == 3  # kept across restarts


@needs_redis
def test_services_always_wins_over_the_layers_and_none_starts_nothing(tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    devcontainer = {"REDIS_URL": "redis://redis:6379", "REDIS_PREFIX": "tests:",
                    "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "always", log_path=tmp_path / "always.log",
               env=devcontainer) as always:
        assert wait_until(lambda: "service redis ready in" in always.log(), timeout=30)
        assert count(always)["key"] == "guest:counter"
    with serve(project, log_path=tmp_path / "auto.log", env=devcontainer) as auto:
        assert "service redis" not in auto.log()  # the layers point elsewhere
    with serve(project, "--services", "none", log_path=tmp_path / "none.log",
               env={**devcontainer, "REDIS_URL": None}) as none:
        assert "service redis" not in none.log()
        # nothing sets REDIS_URL: the action gets "" (as on the cluster) and fails on it
        assert httpx.get(none.url + "/api/my/cache/counter", timeout=30).status_code == 502
        assert "unset: $REDIS_URL, needed by cache/counter" in none.log()


def test_a_missing_redis_server_is_one_line_with_the_fix_and_the_rest_serves(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None, "PATH": str(Path(sys.executable).parent),
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service redis did not start" in up.log(), timeout=30)
        assert "redis-server is not installed: install Debian's redis-server package" in \
            up.log()
        assert httpx.get(up.url + "/api/my/cache/plain", timeout=30).text == \
            "needs no service"
        assert "Traceback" not in up.log()


def test_an_unknown_service_name_is_one_line() -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "streamwhisk", "up", "--project",
                           str(Path(__file__).parent / "fixtures" / "services_project"),
                           "--port", "0", "--services", "redis,mongo"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "--services: no service mongo; choose from redis" in done.stderr
    assert "Traceback" not in done.stderr


def test_docker_actions_and_folders_without_main_are_reported_at_start(tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "none", log_path=tmp_path / "up.log", env=env) as up:
        log = up.log()
        assert "(#--docker openwhisk/python3action: runs here in that kind's runtime; a " \
            "deploy sends the image)" in log
        assert re.search(r"files/assets +not an action: a folder needs a __main__\.py", log)
        assert httpx.get(up.url + "/api/my/boxed/image", timeout=30).text == \
            "ran here in python:default"
