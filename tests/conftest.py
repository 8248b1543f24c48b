"""Fixtures that start real servers on 127.0.0.1 from copies of the fixture projects.

For the whole session, the bundled dev Ollama runs on a free port and OLLAMA_HOST points at
it (the process environment is the top configuration layer, over tests/.env), so the
lesson's tests, which only call `stateless.url({})`, reach it and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from package_index import PackageIndex, serve_index
from support import COURSE_AUTH, copy_project, run_streamwhisk

from streamwhisk.paths import cache_root
from streamwhisk.testing import RunningServer, serve, serve_dev_ollama, trust_dev_ca

DEV_OLLAMA_TOKEN_RATE = "1000"
_session = contextlib.ExitStack()


# The user's own files, which no test may write (nor read: their deployed actions)
USERS_WSKPROPS = Path(os.environ.get("WSK_CONFIG_FILE") or Path.home() / ".wskprops")
_users_files_before: tuple[object, ...] = ()


def _users_files() -> tuple[object, ...]:
    with contextlib.suppress(OSError):
        found = USERS_WSKPROPS.stat()
        return (found.st_mtime_ns, found.st_size)
    return ()


def pytest_configure(config: pytest.Config) -> None:
    global _users_files_before
    _users_files_before = _users_files()
    sandbox = Path(_session.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-")))
    # every command a test runs finds these, not the user's: the login (`streamwhisk login`
    # writes ~/.wskprops and its own file), the data folder (deployed actions, run keys,
    # services' data, a chat's history)
    os.environ["WSK_CONFIG_FILE"] = str(sandbox / "wskprops")
    os.environ["STREAMWHISK_LOGIN_FILE"] = str(sandbox / "login.env")
    os.environ["STREAMWHISK_DATA_DIR"] = str(sandbox / "data")
    logs = Path(_session.enter_context(tempfile.TemporaryDirectory(prefix="dev-ollama-")))
    # the dev CA of this run, not the user's: every server the tests start makes or reads it
    os.environ["STREAMWHISK_CA_DIR"] = str(logs / "ca")
    # the runtimes `make setup` built (`streamwhisk runtimes --tests`), and the interpreters
    # they are made of, also for the tests that give a server a HOME of its own
    os.environ["STREAMWHISK_CACHE_DIR"] = str(cache_root())
    if "PYENV_ROOT" not in os.environ and (Path.home() / ".pyenv").is_dir():
        os.environ["PYENV_ROOT"] = str(Path.home() / ".pyenv")
    dev = _session.enter_context(serve_dev_ollama(
        "--token-rate", DEV_OLLAMA_TOKEN_RATE, "--auth", "", log_path=logs / "ollama.log"))
    assert trust_dev_ca(), "the dev Ollama made no CA"
    os.environ["OLLAMA_HOST"] = dev.url.removeprefix("http://")
    os.environ.pop("AUTH", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _users_files() != _users_files_before:
        print(f"\nthe tests changed the user's {USERS_WSKPROPS}: a test escaped its sandbox",
              file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    _session.close()


@pytest.fixture(scope="session")
def dev_ollama_url() -> str:
    """The session's dev Ollama (what OLLAMA_HOST points at)."""
    return "http://" + os.environ["OLLAMA_HOST"]


@pytest.fixture
def logged_in(tmp_path: Path) -> dict[str, str]:
    """A HOME and a login config of their own; `streamwhisk login` has run."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".wskprops").write_text("NAMESPACE=learner\nAPIHOST=https://old.example\n")
    env = {**os.environ, "HOME": str(home), "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
    env.pop("WSK_CONFIG_FILE", None)
    done = run_streamwhisk("login", "--apihost", "https://openserverless.example",
                           "--auth", COURSE_AUTH, env=env)
    assert done.returncode == 0, done.stderr
    return env


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


# the servers whose open descriptors a test counts: a server is not dumpable (its /proc/PID/fd
# is root's), which only root can look past
COUNTABLE = {"STREAMWHISK_DEBUGGABLE": "1"} if os.geteuid() != 0 else {}


@pytest.fixture(scope="module")
def server(
    runtime_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with serve(runtime_project, "--max-workers", "4", "--queue-size", "8", log_path=log,
               env=dict(COUNTABLE)) as running:
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
    """A streaming server of its own, so no other test's traffic moves its counts; one
    worker per action, so each request needs the activation before it to have ended."""
    project = copy_project("stream_project", tmp_path)
    with serve(project, "--log-level", "warning", "--max-workers", "1",
               log_path=tmp_path / "server.log", env=dict(COUNTABLE)) as running:
        yield running


@pytest.fixture(scope="module")
def course_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A project written for OpenServerless (tests/fixtures/course_project), served in the
    namespace `learner`, with a login config holding AUTH, and the dev Ollama always (its
    packages/.env points OLLAMA_HOST at a cluster's)."""
    project = copy_project("course_project", tmp_path_factory.mktemp("course"))
    login = project / "login.env"  # what `streamwhisk login` would have written
    login.write_text(f"AUTH={COURSE_AUTH}\n")
    with serve(project, "--namespace", "learner", "--dev-ollama", "always",
               log_path=project / "server.log",
               env={"STREAMWHISK_LOGIN_FILE": str(login), "OLLAMA_HOST": None}) as running:
        yield running




@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """A package index on 127.0.0.1 that holds `greeting` 1.0 (and nothing else)."""
    with serve_index(tmp_path_factory.mktemp("index")) as index:
        yield index


@pytest.fixture
def free_port() -> int:
    """A port that was free a moment ago: nothing listens on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
