"""Faults answer at once, never at the timeout, and a dead worker leaves nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from support import alive

from streamwhisk.testing import RunningServer, wait_until


def zombies_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if not alive(int(c))]


def test_a_worker_that_dies_answers_at_once_though_its_child_holds_the_pipes(
    client: httpx.Client, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child"
    started = time.monotonic()
    response = client.get("/api/my/t/forkdies", params={"pidfile": str(pidfile)})
    assert time.monotonic() - started < 5  # its time limit is 30 s
    assert response.status_code == 502
    assert "exited unexpectedly" in response.json()["error"]
    # its process group went with it
    assert wait_until(lambda: not alive(int(pidfile.read_text())), timeout=5)
    assert client.get("/api/my/t/echo").status_code == 200


def test_garbage_on_the_result_channel_is_a_crash_answered_at_once(
    client: httpx.Client, server: RunningServer
) -> None:
    started = time.monotonic()
    response = client.get("/api/my/t/scribbles")
    assert time.monotonic() - started < 5  # its time limit is 30 s
    assert response.status_code == 502
    assert "exited unexpectedly" in response.json()["error"]
    assert "what the action loop does not allow" in server.log()
    assert client.get("/api/my/t/scribbles").status_code == 502  # a fresh worker, same fate


def test_children_an_action_forks_and_forgets_are_reaped(client: httpx.Client) -> None:
    worker = client.get("/api/my/t/forks", params={"children": 5}).json()["pid"]
    assert wait_until(lambda: zombies_of(worker) == [], timeout=5), zombies_of(worker)
    again = client.get("/api/my/t/forks", params={"children": 5}).json()["pid"]
    assert again == worker  # the same warm worker
    assert wait_until(lambda: zombies_of(worker) == [], timeout=5), zombies_of(worker)


def test_killing_a_worker_kills_its_setsid_escapee_and_daemon_too(
    client: httpx.Client, tmp_path: Path
) -> None:
    response = client.get("/api/my/t/escapes", params={"pids": str(tmp_path)})
    assert response.status_code == 502
    assert "time limits" in response.json()["error"]
    for name in ("setsid", "daemon"):
        assert (tmp_path / name).exists(), name
        pid = int((tmp_path / name).read_text())
        assert wait_until(lambda pid=pid: not alive(pid), timeout=5), f"{name} {pid} survived"


def test_a_crashed_worker_leaves_no_open_descriptor(
    client: httpx.Client, server: RunningServer, tmp_path: Path
) -> None:
    client.get("/api/my/t/echo")
    client.get("/api/my/t/forkdies", params={"pidfile": str(tmp_path / "warm")})
    before = server.open_fds()
    for attempt in range(5):
        client.get("/api/my/t/forkdies", params={"pidfile": str(tmp_path / f"{attempt}")})
    assert wait_until(lambda: server.open_fds() <= before), (server.open_fds(), before)

