"""pytest fixtures for streamwhisk projects, loaded automatically once streamwhisk is installed.

    def test_countdown(stream_mock):
        countdown.stream(stream_mock.args, countdown.count_to_zero(3, 0))
        assert stream_mock.stop().output == "3...\\n2...\\n1...\\nGo!\\n"

    def test_over_http(streamwhisk_server):
        httpx.post(streamwhisk_server.url + "/web/_/chat/countdown", json={"input": 3})

    def test_my_chat(dev_ollama, monkeypatch):
        monkeypatch.setenv("OLLAMA_HOST", dev_ollama.url.removeprefix("http://"))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..launch import RunningServer, serve, serve_dev_ollama
from .streamock import StreamMock, args, start
from .trust import trust_dev_ca


def pytest_configure(config: pytest.Config) -> None:
    """Tests reach the dev Ollama as the project's code does, `https://{AUTH}@{OLLAMA_HOST}`."""
    trust_dev_ca()


@pytest.fixture
def stream_mock() -> Iterator[StreamMock]:
    """A stream mock already listening; `.args` for the action, `.stop()` for what it sent."""
    mock = start(args())
    with mock:
        yield mock


@pytest.fixture(scope="session")
def streamwhisk_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """`streamwhisk up` on a free loopback port, serving the project at pytest's rootdir with
    the tests' configuration (`tests/.env`)."""
    log = tmp_path_factory.mktemp("streamwhisk") / "server.log"
    with serve(pytestconfig.rootpath, "--scope", "tests", log_path=log) as running:
        yield running


@pytest.fixture(scope="session")
def dev_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The bundled dev Ollama (scripted replies, not an LLM) on a free loopback port, with no
    credentials required; `.url` is its address."""
    log = tmp_path_factory.mktemp("dev-ollama") / "ollama.log"
    with serve_dev_ollama("--auth", "", log_path=log) as running:
        yield running
