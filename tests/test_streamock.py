"""streamock and the pytest fixtures streamwhisk installs, on real sockets."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from streamwhisk.testing import RunningServer, streamock


def send(args: dict[str, str], *messages: dict[str, str], close: bool = True) -> socket.socket:
    sock = socket.create_connection((args["STREAM_HOST"], int(args["STREAM_PORT"])))
    for message in messages:
        sock.sendall(json.dumps(message).encode())
    if close:
        sock.close()
    return sock


def test_two_mocks_at_once_get_their_own_ports_and_their_own_messages() -> None:
    first, second = streamock.args(), streamock.args()
    assert first["STREAM_PORT"] != second["STREAM_PORT"]
    mocks = streamock.start(first), streamock.start(second)
    send(first, {"output": "one"})
    send(second, {"output": "two"})
    assert [streamock.stop(m).output for m in mocks] == ["one", "two"]


def test_stop_returns_raw_bytes_and_the_decoded_messages() -> None:
    args = streamock.args()
    mock = streamock.start(args)
    send(args, {"output": "è"}, {"thinking": "t"})
    data = streamock.stop(mock)
    assert isinstance(data, bytes)
    assert data.decode("utf-8") == '{"output": "\\u00e8"}{"thinking": "t"}'
    assert data.messages == [{"output": "è"}, {"thinking": "t"}]


def test_garbage_shows_up_as_an_error_message() -> None:
    args = streamock.args()
    mock = streamock.start(args)
    with socket.create_connection(("127.0.0.1", int(args["STREAM_PORT"]))) as sock:
        sock.sendall(b'nope{"output": "ok"}')
    data = streamock.stop(mock)
    assert data.output == "ok" and "not a JSON object" in data.errors[0]


def test_stop_gives_up_after_its_timeout_when_the_sender_never_closes() -> None:
    args = streamock.args()
    mock = streamock.start(args)
    held = send(args, {"output": "x"}, close=False)
    try:
        with pytest.raises(TimeoutError, match="kept its stream socket open"):
            streamock.stop(mock, timeout=0.3)
    finally:
        held.close()


def test_start_also_takes_plain_args_naming_a_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    args = {"STREAM_HOST": "127.0.0.1", "STREAM_PORT": str(port)}
    mock = streamock.start(args)
    send(args, {"output": "plain"})
    assert streamock.stop(mock).output == "plain"


def test_the_stream_mock_fixture_listens_and_collects(stream_mock: streamock.StreamMock) -> None:
    send(stream_mock.args, {"output": "fixture"})
    assert stream_mock.stop().output == "fixture"


def test_the_dev_ollama_fixture_serves_ollamas_api(dev_ollama: RunningServer) -> None:
    assert httpx.get(dev_ollama.url).text == "Ollama is running"
    tags = httpx.get(dev_ollama.url + "/api/tags").json()
    assert "llama3.1:8b" in [m["name"] for m in tags["models"]]
