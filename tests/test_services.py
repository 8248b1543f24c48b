"""The platform's services, real servers on loopback: started for the actions that name
their variables, their data kept across restarts, stopped with the server."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest
from conftest import copy_project
from test_worker_faults import alive

from streamwhisk.testing import RunningServer, serve, wait_until

needs_redis = pytest.mark.skipif(
    not any(Path(d, "redis-server").exists() for d in os.environ["PATH"].split(os.pathsep)),
    reason="redis-server is not installed: `make setup` installs Debian's package")


def count(server: RunningServer) -> dict[str, object]:
    answer = httpx.get(server.url + "/api/my/cache/counter", timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def service_pid(server: RunningServer, program: bytes = b"redis-server") -> int:
    from streamwhisk.actionloop.tree import children

    for pid in children(server.pid):
        if program in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
            return pid
    raise AssertionError(f"no {program!r} below the server")


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
        assert httpx.get(none.url + "/api/my/cache/counter", timeout=30).status_code == 500


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


def test_the_s3_store_is_a_real_s3_with_the_data_bucket_and_keeps_its_files(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None, "S3_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "s3", log_path=tmp_path / "first.log", env=env) as first:
        assert wait_until(lambda: "service s3 ready in" in first.log(), timeout=30), first.log()
        put = httpx.get(first.url + "/api/my/files/store",
                        params={"put": "notes/hello.txt", "text": "hi", "get": "notes/hello.txt"},
                        timeout=60)
        assert put.status_code == 200, put.text
        body = put.json()
        assert body["bucket"] == "guest-data"
        assert body["listed"] == ["notes/hello.txt"] and body["got"] == "hi"
        assert httpx.get(body["url"], timeout=30).text == "hi"  # a presigned URL works
        secret = next((tmp_path / "data" / "services").rglob("s3/.secret")).read_text().strip()
        assert secret not in first.log()
    with serve(project, "--services", "s3", log_path=tmp_path / "again.log", env=env) as again:
        assert wait_until(lambda: "service s3 ready in" in again.log(), timeout=30)
        kept = httpx.get(again.url + "/api/my/files/store", params={"get": "notes/hello.txt"},
                         timeout=60).json()
        assert kept["got"] == "hi"  # kept across restarts


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


@needs_redis
def test_services_shows_what_runs_masked_and_reset_empties_a_stopped_one(
        tmp_path: Path) -> None:
    import subprocess

    project = copy_project("services_project", tmp_path)
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)

    def streamwhisk(*args: str) -> subprocess.CompletedProcess[str]:
        """`streamwhisk services --project PROJECT ARGS...`"""
        return subprocess.run([sys.executable, "-m", "streamwhisk", "services", "--project",
                               str(project), *args], capture_output=True, text=True,
                              timeout=60, env=env)

    with serve(project, "--services", "redis", log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": None}) as up:
        assert wait_until(lambda: "service redis ready in" in up.log(), timeout=30)
        assert count(up)["count"] == 1
        shown = streamwhisk()
        assert "redis: running, data in" in shown.stdout, shown.stderr
        assert "REDIS_URL=redis://********@127.0.0.1:" in shown.stdout
        assert "s3: stopped" in shown.stdout
        refused = streamwhisk("reset", "redis")
        assert refused.returncode == 1
        assert "redis is running (its streamwhisk up serves it): stop up first" in \
            refused.stderr
    assert "redis: stopped" in streamwhisk().stdout
    assert streamwhisk("reset", "redis").returncode == 0
    with serve(project, "--services", "redis", log_path=tmp_path / "again.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": None}) as again:
        assert wait_until(lambda: "service redis ready in" in again.log(), timeout=30)
        assert count(again)["count"] == 1  # afresh


@needs_redis
def test_a_course_projects_service_tests_pass_with_services_always(tmp_path: Path) -> None:
    """Its tests/.env names the devcontainer's hosts (redis, minio): `--services always`
    starts local ones whose values win, for the served actions and the tests alike."""
    import subprocess

    from conftest import COURSE_AUTH

    project = copy_project("services_course", tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
    for variable in ("REDIS_URL", "S3_HOST"):
        env.pop(variable, None)

    def streamwhisk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streamwhisk", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    assert streamwhisk("login", "--apihost", "https://openserverless.example", "--auth",
                       COURSE_AUTH).returncode == 0
    unchanged = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider", "-q")
    assert unchanged.returncode != 0  # redis:6379 and minio:9000 are not on this machine
    passed = streamwhisk("test", "--project", str(project), "--services", "always", "-p",
                         "no:cacheprovider", "-q")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 passed" in passed.stdout
    assert "service redis at 127.0.0.1:" in passed.stderr
    assert "/tests/redis" in passed.stderr  # the tests' own data, apart from what up keeps


def test_postgres_serves_the_namespaces_database_and_keeps_its_rows(tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"POSTGRES_URL": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "postgres", log_path=tmp_path / "first.log",
               env=env) as first:
        assert wait_until(lambda: "service postgres ready in" in first.log(), timeout=60), \
            first.log()
        added = httpx.get(first.url + "/api/my/db/notes", params={"add": "first note"},
                          timeout=60)
        assert added.status_code == 200, added.text
        assert added.json() == {"notes": ["first note"], "database": "guest"}
        secret = next((tmp_path / "data" / "services").rglob("postgres/.secret")).read_text()
        assert secret.strip() not in first.log()
    with serve(project, "--services", "postgres", log_path=tmp_path / "again.log",
               env=env) as again:
        assert wait_until(lambda: "service postgres ready in" in again.log(), timeout=60)
        kept = httpx.get(again.url + "/api/my/db/notes", timeout=60).json()
        assert kept["notes"] == ["first note"]  # kept across restarts


@needs_redis
def test_the_shell_gets_the_services_it_asks_for(tmp_path: Path) -> None:
    import subprocess

    project = copy_project("services_course", tmp_path)
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
    typed = ("import os, redis\n"
             "r, key = redis.from_url(os.environ['REDIS_URL']), os.environ['REDIS_PREFIX'] + 'k'\n"
             "print(r.set(key, 'v'), r.get(key), key)\n")
    done = subprocess.run([sys.executable, "-m", "streamwhisk", "shell", "--project",
                           str(project), "--services", "always"], input=typed, env=env,
                          capture_output=True, text=True, timeout=300)
    # tests/.env's redis://redis:6379 and test: lose to the service's own, with always
    assert done.stdout.splitlines() == ["True b'v' guest:k"], done.stdout + done.stderr


def test_milvus_takes_the_clusters_client_and_finds_what_was_added(tmp_path: Path) -> None:
    """The course's vector lesson: a 1024-dimensional collection made by pymilvus 2.5.3,
    filled with the dev Ollama's mxbai-embed-large vectors, searched; kept across restarts."""
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"MILVUS_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    texts = ["Rome is the capital of Italy", "Sushi comes from Japan",
             "Paris is the capital of France"]
    with serve(project, "--services", "milvus", log_path=tmp_path / "first.log",
               env=env) as first:
        assert wait_until(lambda: "service milvus ready in" in first.log(), timeout=60), \
            first.log()
        added = httpx.post(first.url + "/api/my/vector/search",
                           json={"add": texts, "search": "what is the capital of Italy"},
                           timeout=120)
        assert added.status_code == 200, added.text
        assert added.json()["found"] == "Rome is the capital of Italy"
    with serve(project, "--services", "milvus", log_path=tmp_path / "again.log",
               env=env) as again:
        assert wait_until(lambda: "service milvus ready in" in again.log(), timeout=60)
        kept = httpx.post(again.url + "/api/my/vector/search",
                          json={"search": "Japan food sushi"}, timeout=120).json()
        assert kept["found"] == "Sushi comes from Japan"  # kept across restarts
