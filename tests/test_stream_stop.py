"""Stop means close: a client that goes away ends the activation, and nothing leaks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from streamwhisk.testing import RunningServer, wait_until

DISCONNECTS = 20


def read_then_hang_up(server: RunningServer, markers: Path | None, lines: int = 2,
                      action: str = "s/endless") -> list[dict]:
    received = []
    payload = {"markers": str(markers)} if markers else {}
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", f"{server.url}/web/guest/{action}", json=payload
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
    workers, descriptors = quiet_server.workers(), quiet_server.open_fds()

    for done in range(1, DISCONNECTS + 1):
        assert [m["output"] for m in read_then_hang_up(quiet_server, markers)] == ["0 ", "1 "]
        # the activation saw its send fail, and so returned (its worker is free again)
        assert wait_until(lambda done=done: stopped() == done + 1), f"hang-up {done} kept on"

    failures = {marker.read_text() for marker in markers.iterdir()}
    assert failures <= {"ConnectionResetError", "BrokenPipeError"}
    # the one warm worker served them all: none is still stuck streaming to nobody
    assert wait_until(lambda: quiet_server.workers() == workers), quiet_server.workers()
    assert wait_until(lambda: quiet_server.open_fds() <= descriptors), (
        quiet_server.open_fds(), descriptors)


def test_a_stop_is_logged_as_one_line_not_a_traceback(stream_server: RunningServer) -> None:
    for _ in range(3):
        assert len(read_then_hang_up(stream_server, None, action="s/unguarded")) == 2
    assert wait_until(lambda: stream_server.log().count("the client closed the stream") == 3)
    assert "Traceback" not in stream_server.log()
