"""Fixtures that start real servers on 127.0.0.1 from copies of the fixture projects."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamwhisk.testing import RunningServer, serve

FIXTURES = Path(__file__).parent / "fixtures"


def copy_project(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(FIXTURES / name, target)
    return target


@pytest.fixture(scope="module")
def runtime_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project("runtime_project", tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose pools hold two workers and queue one request."""
    project = copy_project("runtime_project", tmp_path_factory.mktemp("small"))
    log = project / "server.log"
    with serve(project, "--max-workers", "2", "--queue-size", "1", log_path=log) as running:
        yield running


@pytest.fixture(scope="module")
def server(
    runtime_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with serve(runtime_project, "--max-workers", "4", "--queue-size", "8", log_path=log) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The streaming fixture project, with a short keep-alive so quiet spells are quick."""
    project = copy_project("stream_project", tmp_path_factory.mktemp("stream"))
    log = project / "server.log"
    with serve(project, "--stream-keepalive", "0.2", "--max-workers", "8",
               log_path=log) as running:
        yield running


@pytest.fixture
def quiet_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A streaming server of its own, so no other test's traffic moves its counts."""
    project = copy_project("stream_project", tmp_path)
    with serve(project, "--log-level", "warning", log_path=tmp_path / "server.log") as running:
        yield running
