"""`streamwhisk streamer` in front of a remote OpenWhisk, played by a second `streamwhisk up`:
it relays exactly as `up` does (NDJSON or SSE, nothing lost, `done` last, a hang-up stops the
action), the first connection to an invocation's port is the only one relayed, and a server
behind it takes the stream address only from a streamer that holds its AUTH."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import copy_project

from streamwhisk.testing import RunningServer, serve, serve_streamer, wait_until

AUTH = "5d1e9c0b-remote-tests:k3y-of-the-remote-openwhisk"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The cluster: a `streamwhisk up` whose AUTH the streamer holds."""
    project = copy_project("stream_project", tmp_path_factory.mktemp("remote"))
    with serve(project, "--log-level", "warning", log_path=project / "server.log",
               env={"AUTH": AUTH}) as running:
        yield running


@pytest.fixture(scope="module")
def streamer(remote: RunningServer,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("streamer") / "streamer.log"
    with serve_streamer(remote.url, "--auth", AUTH, "--stream-keepalive", "0.2",
                        log_path=log) as running:
        yield running


def lines(response: httpx.Response) -> list[dict[str, object]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_messages_split_and_glued_anywhere_all_arrive_then_the_result(
        streamer: RunningServer) -> None:
    response = httpx.post(f"{streamer.url}/web/guest/s/chunks",
                          json={"count": 200, "chunk": 7, "seed": 3}, timeout=60)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    received = lines(response)
    done = received.pop()
    assert done["done"] is True
    assert "".join(str(m["output"]) for m in received) == done["result"]["body"]["output"]  # type: ignore[index]
    assert len(received) == 200


def test_sse_carries_the_same_messages(streamer: RunningServer) -> None:
    response = httpx.post(f"{streamer.url}/web/guest/s/where", json={},
                          headers={"accept": "text/event-stream"}, timeout=60)
    events = [json.loads(line[len("data: "):]) for line in response.text.splitlines()
              if line.startswith("data: ")]
    assert events[0] == {"output": "here"}
    assert events[-1]["done"] is True


def test_a_hang_up_stops_the_remote_action(streamer: RunningServer, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    with httpx.stream("POST", f"{streamer.url}/web/guest/s/endless",
                      json={"markers": str(markers)}, timeout=60) as response:
        read = 0
        for line in response.iter_lines():
            read += bool(line.strip())
            if read == 2:
                break
    assert wait_until(lambda: any(markers.iterdir()), timeout=20)
    assert {m.read_text() for m in markers.iterdir()} <= {"ConnectionResetError",
                                                        "BrokenPipeError"}


def test_only_the_first_connection_to_an_invocations_port_is_relayed(
        streamer: RunningServer) -> None:
    received = lines(httpx.post(f"{streamer.url}/web/guest/s/twice", json={}, timeout=60))
    assert [m.get("output") for m in received[:-1]] == ["first", "last"]
    # refused once the port stopped listening, or reset if it came in before that
    assert received[-1]["result"]["body"]["second"] in (  # type: ignore[index]
        "ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError")


def test_many_streams_at_once_each_whole(streamer: RunningServer) -> None:
    def one(seed: int) -> bool:
        got = lines(httpx.post(f"{streamer.url}/web/guest/s/chunks",
                               json={"count": 30, "chunk": 5, "seed": seed}, timeout=60))
        result = got[-1]["result"]["body"]["output"]  # type: ignore[index]
        return "".join(str(m["output"]) for m in got[:-1]) == result

    with ThreadPoolExecutor(20) as pool:
        assert all(pool.map(one, range(20)))


def test_without_the_servers_auth_the_stream_address_does_not_pass(
        remote: RunningServer, tmp_path: Path) -> None:
    with serve_streamer(remote.url, "--auth", "someone:else", log_path=tmp_path / "s.log",
                        env={"AUTH": None}) as stranger:
        received = lines(httpx.post(f"{stranger.url}/web/guest/s/where", json={}, timeout=60))
    assert received == [{"done": True, "error": received[0]["error"]}]
    assert "STREAM_HOST" in str(received[0]["error"])
