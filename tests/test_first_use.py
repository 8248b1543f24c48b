"""First use, as a new user (a fresh HOME, an empty runtime cache) meets it: the server answers
at once while the runtime is built; an activation waits for it within its own time limit, or is
told it is still being prepared; a failed build says why, and the next request tries again.

The runtime's library list names `greeting`, served by a package index on 127.0.0.1 that
holds its answers until the test lets them go: a slow first download, made to order."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from package_index import PackageIndex, serve_index
from support import first_use_project, fresh_home_env

from streamwhisk.testing import RunningServer, serve, wait_until


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with serve_index(tmp_path / "index") as served:
        yield served


@pytest.fixture
def held(tmp_path: Path, index: PackageIndex) -> Iterator[RunningServer]:
    """`up` on a fresh HOME whose first runtime build is waiting on the package index."""
    index.open.clear()
    project = first_use_project(tmp_path / "project")
    try:
        with serve(project, log_path=tmp_path / "server.log",
                   env=fresh_home_env(tmp_path, index)) as running:
            yield running
    finally:
        index.open.set()


def preparing(server: RunningServer) -> list[dict[str, object]]:
    return list(httpx.get(server.url + "/_streamwhisk/status", timeout=5).json()["runtimes"])


def test_the_server_answers_at_once_while_the_first_runtime_builds(
        held: RunningServer, index: PackageIndex, tmp_path: Path) -> None:
    assert httpx.get(held.url + "/api/v1/namespaces", timeout=5).status_code == 401
    assert httpx.get(held.url + "/", timeout=5).status_code == 200
    assert wait_until(lambda: [p for p in preparing(held) if p["state"] == "building"])
    building = preparing(held)[0]
    assert str(building["what"]).startswith("the python:default (Python 3."), building
    assert "greeting" in str(building["step"]) or building["step"], building


def test_an_activation_waits_for_the_runtime_within_its_own_time_limit(
        held: RunningServer, index: PackageIndex) -> None:
    answers: list[httpx.Response] = []
    patient = threading.Thread(target=lambda: answers.append(
        httpx.get(held.url + "/api/my/f/patient", timeout=60)))
    patient.start()
    started = time.monotonic()
    hasty = httpx.get(held.url + "/api/my/f/hasty", timeout=30)
    assert time.monotonic() - started < 10
    assert hasty.status_code == 503
    assert hasty.headers["retry-after"] == "5"
    assert "still being prepared" in hasty.json()["error"]
    index.open.set()
    patient.join(timeout=60)
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].text == "hello, you, from the greeting wheel"
    assert wait_until(lambda: preparing(held)[-1]["state"] == "ready")
    assert httpx.get(held.url + "/api/my/f/hasty", timeout=30).status_code == 200
    assert "ready: the python:default" in held.log()


def test_a_failed_build_says_why_and_the_next_request_tries_again(
        tmp_path: Path, index: PackageIndex) -> None:
    shelf = tmp_path / "shelf"
    shutil.move(tmp_path / "index" / "simple" / "greeting", shelf)  # not on the index yet
    project = first_use_project(tmp_path / "project")
    with serve(project, log_path=tmp_path / "server.log",
               env=fresh_home_env(tmp_path, index)) as running:
        failed = httpx.get(running.url + "/api/my/f/patient", timeout=60)
        assert failed.status_code == 502
        error = failed.json()["error"]
        assert "cannot install libraries.txt into the python:default" in error, error
        assert "greeting" in error, error
        assert wait_until(lambda: preparing(running)[-1]["state"] == "failed")
        shutil.move(shelf, tmp_path / "index" / "simple" / "greeting")
        again = httpx.get(running.url + "/api/my/f/patient", timeout=60)
        assert again.status_code == 200, again.text
        assert preparing(running)[-1]["state"] == "ready"
