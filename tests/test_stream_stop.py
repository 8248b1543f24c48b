"""Stop means close: a client that goes away ends the activation, and nothing leaks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from streamwhisk.testing import RunningServer

DISCONNECTS = 20


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def read_then_hang_up(server: RunningServer, markers: Path, lines: int = 2) -> list[dict]:
    received = []
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", f"{server.url}/web/guest/s/endless", json={"markers": str(markers)}
    ) as response:
        for line in response.iter_lines():
            received.append(json.loads(line))
            if len(received) == lines:
                break
    return received


def test_a_client_that_hangs_up_stops_the_action_and_leaks_nothing(
    quiet_server: RunningServer, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    def stopped() -> int:
        return len(list(markers.iterdir()))

    read_then_hang_up(quiet_server, markers)  # warm: one worker, one stopped activation
    assert wait_until(lambda: stopped() == 1)
    workers, descriptors = quiet_server.children(), quiet_server.open_fds()

    for done in range(1, DISCONNECTS + 1):
        assert [m["output"] for m in read_then_hang_up(quiet_server, markers)] == ["0 ", "1 "]
        # the activation saw its send fail, and so returned (its worker is free again)
        assert wait_until(lambda done=done: stopped() == done + 1), f"hang-up {done} kept on"

    failures = {marker.read_text() for marker in markers.iterdir()}
    assert failures <= {"ConnectionResetError", "BrokenPipeError"}
    # the one warm worker served them all: none is still stuck streaming to nobody
    assert wait_until(lambda: quiet_server.children() == workers), quiet_server.children()
    assert wait_until(lambda: quiet_server.open_fds() <= descriptors), (
        quiet_server.open_fds(), descriptors)
