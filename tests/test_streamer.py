"""The streamer route `/web/{ns}/{pkg}/{action}` over real HTTP, with real action workers."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from streamwhisk.testing import RunningServer, wait_until


def stream_lines(server: RunningServer, action: str, payload: dict[str, Any] | None = None,
                 keepalives: list[int] | None = None) -> list[dict[str, Any]]:
    """POST to the streamer and read NDJSON to the end; blank keep-alive lines are counted."""
    events = []
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", f"{server.url}/web/guest/{action}", json=payload or {}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            if not line:
                if keepalives is not None:
                    keepalives.append(1)
                continue
            events.append(json.loads(line))
    return events


def outputs(events: list[dict[str, Any]]) -> str:
    return "".join(e["output"] for e in events if "output" in e)


@pytest.mark.parametrize(("chunk", "separator", "seed"),
                         [(1, "", 1), (3, "", 2), (7, "\n", 3), (4096, "", 4), (13, "\n", 5)])
def test_nothing_is_lost_however_the_action_splits_its_messages(
    stream_server: RunningServer, chunk: int, separator: str, seed: int
) -> None:
    events = stream_lines(stream_server, "s/chunks",
                          {"chunk": chunk, "separator": separator, "seed": seed, "count": 40})
    done = events[-1]
    assert done["done"] is True
    assert all("error" not in e for e in events)
    assert outputs(events[:-1]) == done["result"]["body"]["output"]
    assert len(events) == 41  # one line per message, plus done


def test_sse_carries_the_same_messages_as_events(stream_server: RunningServer) -> None:
    payload = {"chunk": 5, "seed": 9, "count": 10}
    with httpx.Client(timeout=30) as client, connect_sse(
        client, "POST", f"{stream_server.url}/web/_/s/chunks", json=payload
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(event.data) for event in source.iter_sse()]
    assert events[:-1] == [e for e in stream_lines(stream_server, "s/chunks", payload)][:-1]
    assert outputs(events[:-1]) == events[-1]["result"]["body"]["output"]


def test_get_takes_arguments_from_the_query(stream_server: RunningServer) -> None:
    with httpx.Client(timeout=30) as client:
        response = client.get(f"{stream_server.url}/web/guest/s/chunks?count=3&chunk=2")
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert len(events) == 4 and events[-1]["done"] is True


def test_stream_responses_ask_not_to_be_buffered(stream_server: RunningServer) -> None:
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", f"{stream_server.url}/web/guest/s/plain", json={},
        headers={"accept-encoding": "gzip"},
    ) as response:
        assert response.headers["x-accel-buffering"] == "no"
        assert "no-cache" in response.headers["cache-control"]
        assert "content-encoding" not in response.headers


def test_garbage_and_oversized_messages_become_errors_and_the_rest_arrives(
    stream_server: RunningServer,
) -> None:
    events = stream_lines(stream_server, "s/garbage")
    assert [e.get("output") for e in events if "output" in e] == ["before", "after"]
    errors = [e["error"] for e in events if "error" in e and "done" not in e]
    assert any("not a JSON object" in e for e in errors)
    assert any(f"over {1024 * 1024} bytes" in e for e in errors)
    assert any("ended inside a message" in e for e in errors)
    assert events[-1] == {"done": True, "result": {"body": {"output": "beforeafter"}}}
    assert stream_lines(stream_server, "s/plain")[-1]["done"] is True  # still serving


def test_a_quiet_action_gets_keepalives_not_a_timeout(stream_server: RunningServer) -> None:
    keepalives: list[int] = []
    events = stream_lines(stream_server, "s/quiet", {"quiet": 1.0}, keepalives)
    assert keepalives, "no keep-alive line while the action was silent"
    assert outputs(events) == "finally"


def test_an_action_that_never_connects_just_returns_its_result(
    stream_server: RunningServer,
) -> None:
    events = stream_lines(stream_server, "s/plain")
    assert events == [{"done": True, "result": {"body": {"output": "whole", "got_port": True}}}]


def test_an_action_that_never_connects_nor_returns_ends_with_its_timeout(
    stream_server: RunningServer,
) -> None:
    events = stream_lines(stream_server, "s/stuck")
    assert events[-1] == {"done": True,
                          "error": "The action exceeded its time limits of 1000 milliseconds."}


def test_a_failing_action_keeps_its_partial_output_and_ends_with_the_error(
    stream_server: RunningServer,
) -> None:
    events = stream_lines(stream_server, "s/fails")
    assert events[:2] == [{"output": "partial "}, {"thinking": "hmm"}]
    assert events[-1]["done"] is True
    assert "RuntimeError: the model fell over" in events[-1]["error"]


def test_an_action_that_leaves_its_socket_open_still_ends_the_stream(
    stream_server: RunningServer,
) -> None:
    for _ in range(2):  # the second run reuses the worker that still holds the first socket
        events = stream_lines(stream_server, "s/leaky")
        assert outputs(events) == "left open" and events[-1]["done"] is True


def test_unknown_and_non_web_actions_are_404_and_secrets_stay_out(
    stream_server: RunningServer,
) -> None:
    for action in ("s/absent", "s/secret"):
        response = httpx.post(f"{stream_server.url}/web/guest/{action}", json={})
        assert response.status_code == 404
        assert "tok-stream-secret-456" not in response.text


def test_a_stranger_cannot_inject_into_a_stream(
    stream_server: RunningServer, tmp_path: Path
) -> None:
    portfile = tmp_path / "port"
    result: list[list[dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: result.append(
        stream_lines(stream_server, "s/porthole", {"portfile": str(portfile)})))
    reader.start()
    # the action writes the file: it may be there a moment before its text is
    assert wait_until(lambda: portfile.exists() and portfile.read_text().strip() != "",
                      timeout=10)
    port = int(portfile.read_text())
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stranger:
        stranger.sendall(json.dumps({"output": "injected"}).encode())
        (tmp_path / "port.tried").write_text("")  # now the action connects for real
        try:
            refused = stranger.recv(1) == b""
        except ConnectionResetError:
            refused = True
    reader.join(timeout=20)
    assert refused
    assert outputs(result[0]) == "genuine"
    assert "refused a connection to stream port" in stream_server.log()


def test_an_action_that_returns_right_after_sending_never_loses_its_message(
    stream_server: RunningServer,
) -> None:
    # the result often reaches the server before the relay accepted the connection; several
    # at once make the server busy enough that both land in the same loop turn
    def one_client(_: int) -> list[str]:
        with httpx.Client(timeout=30) as client:
            return [client.post(f"{stream_server.url}/web/guest/s/once", json={}).text
                    for _ in range(50)]

    with ThreadPoolExecutor(4) as pool:
        answers = [text for texts in pool.map(one_client, range(4)) for text in texts]
    lost = [text for text in answers if not text.startswith('{"output": "once"}\n')]
    assert not lost, f"{len(lost)} of {len(answers)} lost their message: {lost[0]}"


def test_each_message_reaches_the_client_while_the_action_is_still_running(
    stream_server: RunningServer, tmp_path: Path
) -> None:
    with httpx.Client(timeout=30) as client:
        for attempt in range(10):  # a warm worker: its announcement races the connection
            go = tmp_path / f"go-{attempt}"
            with client.stream("POST", f"{stream_server.url}/web/guest/s/paced",
                               json={"go": str(go)}) as response:
                lines = (line for line in response.iter_lines() if line)  # no keep-alives
                assert json.loads(next(lines)) == {"output": "first "}
                go.write_text("")  # the action waits for this before its second message
                rest = [json.loads(line) for line in lines]
            assert rest[0] == {"output": "second"}, (attempt, rest)
