"""Nothing is lost: every byte an action sends is relayed before `done`, whatever the speeds."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamwhisk.testing import RunningServer, wait_until


def numbered(server: RunningServer, payload: dict[str, Any],
             pause_every: int = 0, pause_s: float = 0.0) -> tuple[list[int], dict[str, Any]]:
    """Read the flood's NDJSON stream; the message numbers, and the `done` line."""
    numbers: list[int] = []
    done: dict[str, Any] = {}
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{server.url}/web/guest/s/flood", json=payload
    ) as response:
        for line in response.iter_lines():
            if not line:
                continue
            message = json.loads(line)
            if "done" in message:
                done = message
                continue
            assert "error" not in message, message
            numbers.append(message["i"])
            if pause_every and len(numbers) % pause_every == 0:
                time.sleep(pause_s)
    return numbers, done


@pytest.mark.parametrize("run", range(5))  # the old relay lost messages in some runs only
def test_a_fast_stream_of_100000_messages_arrives_whole_before_done(
    stream_server: RunningServer, run: int
) -> None:
    numbers, done = numbered(stream_server, {"n": 100_000})
    assert numbers == list(range(100_000))
    assert done == {"done": True, "result": {"body": {"sent": 100_000}}}


@pytest.mark.parametrize("run", range(2))
def test_a_slow_reader_gets_every_message(stream_server: RunningServer, run: int) -> None:
    """6 MB read in 3 s: the action is done while much of it still waits in buffers."""
    numbers, done = numbered(stream_server, {"n": 3000, "size": 2048},
                             pause_every=10, pause_s=0.01)
    assert numbers == list(range(3000))
    assert done["done"] is True and "result" in done


def test_an_action_that_returns_with_its_socket_open_has_everything_relayed(
    stream_server: RunningServer,
) -> None:
    for _ in range(2):  # the second run shares the worker that still holds the first socket
        numbers, done = numbered(stream_server, {"n": 3000, "size": 2048, "close": False},
                                 pause_every=10, pause_s=0.01)
        assert numbers == list(range(3000))
        assert done == {"done": True, "result": {"body": {"sent": 3000}}}


def test_a_client_that_stops_reading_holds_the_action_back(
    stream_server: RunningServer, tmp_path: Path
) -> None:
    """Backpressure: the server buffers a bounded amount, then the action's send blocks."""
    progress = tmp_path / "progress"
    total, size = 40_000, 4096  # 160 MiB: far more than every buffer on the way
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{stream_server.url}/web/guest/s/flood",
        json={"n": total, "size": size, "progress": str(progress)},
    ) as response:
        lines = response.iter_lines()
        assert json.loads(next(lines))["i"] == 0
        assert wait_until(progress.exists)
        # the action fills the buffers, then stalls while nobody reads
        assert wait_until(lambda: _stalled(progress), timeout=20)
        stalled_at = int(progress.read_text())
        assert stalled_at < total // 2, stalled_at
        rest = [json.loads(line) for line in lines if line]
    assert [m["i"] for m in rest[:-1]] == list(range(1, total))
    assert rest[-1]["done"] is True


def _stalled(progress: Path) -> bool:
    before = progress.read_text()
    time.sleep(0.5)
    return progress.read_text() == before


def test_a_finished_stream_leaves_no_port_waiting_behind_the_action(
    stream_server: RunningServer,
) -> None:
    """Answered with a reset, the action's closed socket ends at once: in TIME_WAIT it would
    hold its port for a minute, and a busy server ran out of ports (every stream's connect and
    bind slowed down, then the whole server)."""
    for _ in range(3):
        with httpx.Client(timeout=30) as client:
            lines = client.post(f"{stream_server.url}/web/guest/s/brief").text.splitlines()
        done = json.loads(lines[-1])
        port = done["result"]["body"]["port"]
        assert [json.loads(line)["output"] for line in lines[:-1]] == ["one ", "two ", "three"]
        # the relay answered the action's FIN before it sent `done`; in TIME_WAIT it would stay
        # for a minute
        assert wait_until(lambda port=port: _tcp_state(port) is None, timeout=2), \
            f"port {port} is still held after the stream: {_tcp_state(port)}"


def _tcp_state(local_port: int) -> str | None:
    """The state of the loopback TCP socket bound to `local_port`, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, state = fields[1], fields[3]
        if int(address.split(":")[1], 16) == local_port:
            return {"06": "TIME_WAIT", "05": "FIN_WAIT2"}.get(state, state)
    return None
