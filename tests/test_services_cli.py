"""The services from the command line: `services`, `test --services`, `shell --services`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support import copy_project, count, needs_redis, services_course

from streamwhisk.testing import serve, wait_until


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
        assert "redis is running: its data (" in refused.stderr
        assert f"is in use by streamwhisk up (pid {up.pid}); stop that run first" in \
            refused.stderr
    assert "redis: stopped" in streamwhisk().stdout
    assert streamwhisk("reset", "redis").returncode == 0
    with serve(project, "--services", "redis", log_path=tmp_path / "again.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": None}) as again:
        assert wait_until(lambda: "service redis ready in" in again.log(), timeout=30)
        assert count(again)["count"] == 1  # afresh


@needs_redis
@pytest.mark.timeout(300)  # four services, a dev Ollama, an up and pytest: slow when loaded
def test_a_course_projects_service_tests_pass_with_services_always(tmp_path: Path) -> None:
    """Its tests/.env names the devcontainer's hosts (redis, minio, postgres, milvus):
    `--services always` starts local ones whose values win, for the served actions and the
    tests alike: the login's token, the cache, an assistant's history, files, SQL, vector
    search with the dev Ollama's embeddings, a chess board drawn by the display."""
    import subprocess

    from support import COURSE_AUTH

    project = services_course(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
    for variable in ("REDIS_URL", "S3_HOST", "POSTGRES_URL", "MILVUS_HOST", "WSK_CONFIG_FILE"):
        env.pop(variable, None)

    def streamwhisk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streamwhisk", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    assert streamwhisk("login", "--apihost", "https://openserverless.example", "--auth",
                       COURSE_AUTH).returncode == 0
    unchanged = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider", "-q")
    assert unchanged.returncode != 0  # redis:6379 and minio:9000 are not on this machine
    passed = streamwhisk("test", "--project", str(project), "--services", "always",
                         "--dev-ollama", "always", "-p", "no:cacheprovider", "-q")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "8 passed" in passed.stdout  # cache, store, login, assistant, SQL, vectors, display
    assert "service redis at 127.0.0.1:" in passed.stderr
    assert "/tests/redis" in passed.stderr  # the tests' own data, apart from what up keeps


@needs_redis
def test_the_shell_gets_the_services_it_asks_for(tmp_path: Path) -> None:
    import subprocess

    project = services_course(tmp_path)
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
