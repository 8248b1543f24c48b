"""What each activation sees: its own ids under concurrency, one deadline, reserved stream
arguments, and logs capped at its limit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from streamwhisk.testing import RunningServer, serve, wait_until

KEY = ("7a1c9f52-1d2e-4b7a-9c3d-5e6f7a8b9c0d", "context-test-key-0123456789")


@pytest.fixture(scope="module")
def one_worker(runtime_project: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("context") / "server.log"
    with serve(runtime_project, "--api-key", ":".join(KEY), "--max-workers", "1",
               log_path=log) as running:
        yield running


def test_concurrent_activations_in_one_worker_each_read_their_own_variables(
    one_worker: RunningServer,
) -> None:
    url = f"{one_worker.url}/api/v1/namespaces/_/actions/t/whoami?blocking=true"

    def invoke(_: int) -> dict:
        response = httpx.post(url, json={}, auth=KEY, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(invoke, range(4)))
    assert len({a["response"]["result"]["pid"] for a in answers}) == 1  # one worker ran all
    for answer in answers:
        seen = answer["response"]["result"]
        assert seen["id"] == seen["id_before"] == seen["getenv"] == answer["activationId"]
    assert len({a["activationId"] for a in answers}) == 4


def test_waiting_for_a_worker_counts_against_the_time_limit(one_worker: RunningServer) -> None:
    """t/queued has a 2 s limit: 0.3 s waiting plus 1.9 s running is past it."""
    url = f"{one_worker.url}/api/my/t/queued"
    first: list[httpx.Response] = []
    occupier = threading.Thread(
        target=lambda: first.append(httpx.get(url, params={"seconds": 1.5}, timeout=30)))
    occupier.start()
    time.sleep(0.3)
    second = httpx.get(url, params={"seconds": 1.9}, timeout=30)
    occupier.join()
    assert first[0].status_code == 200
    assert second.status_code == 502
    assert second.json()["error"] == "The action exceeded its time limits of 2000 milliseconds."


@pytest.mark.parametrize("route", ["/api/v1/web/guest/t/echo", "/api/my/t/echo"])
def test_a_request_cannot_set_the_stream_address(client: httpx.Client, route: str) -> None:
    response = client.post(route + "?STREAM_PORT=9", json={"STREAM_HOST": "10.0.0.1"})
    args = response.json()["args"]
    assert "STREAM_PORT" not in args and "STREAM_HOST" not in args


def test_the_rest_api_cannot_set_the_stream_address(one_worker: RunningServer) -> None:
    response = httpx.post(
        f"{one_worker.url}/api/v1/namespaces/_/actions/t/echo?blocking=true&result=true",
        json={"STREAM_PORT": "9", "STREAM_HOST": "10.0.0.1"}, auth=KEY, timeout=30)
    assert set(response.json()["body"]["args"]) == {"GREETING"}


def test_the_streamer_gives_the_action_its_own_relay_not_the_requests(
    stream_server: RunningServer,
) -> None:
    response = httpx.post(f"{stream_server.url}/web/guest/s/where?STREAM_PORT=9",
                          json={"STREAM_HOST": "10.0.0.1"}, timeout=30)
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert lines[0] == {"output": "here"}
    given = lines[-1]["result"]["body"]
    assert given["host"] == "127.0.0.1" and given["port"] != "9"


def test_an_activation_logs_up_to_its_limit_then_says_so_once(
    one_worker: RunningServer,
) -> None:
    url = f"{one_worker.url}/api/my/t/chatty"
    assert httpx.get(url, params={"run": 1, "mb": 3}, timeout=60).status_code == 200
    assert httpx.get(url, params={"run": 2, "mb": 0.01}, timeout=60).status_code == 200
    assert wait_until(lambda: "chatty-2-9 " in one_worker.log())
    log = one_worker.log()
    first_run = log.count("chatty-1-")
    assert 900 <= first_run <= 1050  # 1 MB of ~1 KB lines, of the 3000 printed
    assert log.count("passed the 1048576-byte limit") == 1
    assert log.count("chatty-2-") == 10  # the next activation has its own budget
