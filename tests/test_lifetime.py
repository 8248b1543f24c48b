"""Nothing outlives its run: after `kill -9` of `up` or of `streamwhisk test`, no process
they started is alive within 5 s (workers, what actions left behind in sessions of their own,
services, the dev Ollama, pytest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import alive, copy_project

from streamwhisk.actionloop.tree import descendants
from streamwhisk.testing import serve, wait_until

GONE_WITHIN_S = 5.0


def all_gone(pids: list[int]) -> bool:
    return not [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("run", range(3))
def test_what_actions_left_behind_ends_with_a_killed_up(tmp_path: Path, run: int) -> None:
    project = copy_project("runtime_project", tmp_path)
    pids = tmp_path / "pids"
    pids.mkdir()
    with serve(project, "--services", "none", log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}) as up:
        answer = httpx.get(f"{up.url}/api/my/t/escapes", params={"pids": str(pids), "leave": 1},
                           timeout=60)
        assert answer.status_code == 200, answer.text
        left = [int((pids / name).read_text()) for name in ("setsid", "daemon")]
        started = descendants(up.pid) + left
        assert all(alive(pid) for pid in left)
        up.process.send_signal(signal.SIGKILL)
        up.process.wait()
        killed = time.monotonic()
        assert wait_until(lambda: all_gone(started), timeout=GONE_WITHIN_S + 5), [
            pid for pid in started if alive(pid)]
        assert time.monotonic() - killed < GONE_WITHIN_S


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_a_killed_streamwhisk_test_leaves_nothing(tmp_path: Path, signum: int) -> None:
    project = tmp_path / "project"
    (project / "packages" / "hello").mkdir(parents=True)
    (project / "packages" / "hello" / "hello.py").write_text(
        "#--web true\ndef main(args):\n    return {'body': 'hello'}\n")
    (project / "tests").mkdir()
    started_file = tmp_path / "started"
    (project / "tests" / "test_waits.py").write_text(
        "import os, pathlib, time\n\n"
        "def test_waits():\n"
        f"    pathlib.Path({str(started_file)!r}).write_text(str(os.getpid()))\n"
        "    time.sleep(300)\n")
    env = {**os.environ, "HOME": str(tmp_path), "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    env.pop("OLLAMA_HOST", None)
    command = [sys.executable, "-m", "streamwhisk", "test", "--project", str(project),
               "--dev-ollama", "always", "--", "-k", "test_waits", str(project / "tests")]
    with (tmp_path / "test.log").open("wb") as log:
        run = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        assert wait_until(started_file.exists, timeout=120), (tmp_path / "test.log").read_text()
        started = descendants(run.pid)
        assert int(started_file.read_text()) in started
        assert len(started) >= 3  # up, its dev Ollama or fork server, pytest
        run.send_signal(signum)
        run.wait()
        assert wait_until(lambda: all_gone(started), timeout=GONE_WITHIN_S), [
            Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in started if alive(pid)]
    finally:
        for pid in descendants(run.pid):
            os.kill(pid, signal.SIGKILL)
        if run.poll() is None:
            run.kill()


def test_serve_starts_from_a_test_process_busy_with_grpc_threads(tmp_path: Path) -> None:
    """A test process that used pymilvus has gRPC's threads and fork handlers: starting a
    server from it runs no Python between fork and exec (which could abort the child)."""
    import grpc

    with grpc.insecure_channel("127.0.0.1:9") as channel:
        future = grpc.channel_ready_future(channel)
        for _ in range(5):
            with serve(copy_project("runtime_project", tmp_path / str(_)), "--services", "none",
                       log_path=tmp_path / f"up{_}.log",
                       env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}) as up:
                assert httpx.get(f"{up.url}/api/my/t/echo", timeout=60).status_code == 200
        future.cancel()
