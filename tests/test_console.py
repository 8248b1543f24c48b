"""What a user reads in the terminal is true and quiet: each line once, no traceback on a stop,
no warning that the next step makes untrue; one SIGINT or SIGTERM stops `up`, also when it was
started in the background (where the shell ignores SIGINT for it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from streamwhisk.testing import RunningServer, serve, wait_until

REPO = Path(__file__).resolve().parent.parent
# the example project with no OLLAMA_HOST anywhere: `up` serves the dev Ollama beside it
WITH_DEV_OLLAMA: dict[str, str | None] = {"OLLAMA_HOST": None}
# a shell's background job: SIGINT ignored, then the command started
IN_BACKGROUND = ["sh", "-c", 'trap "" INT; exec "$0" -m streamwhisk "$@"', sys.executable]


def without_ollama_host() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "OLLAMA_HOST"}


def stop(server: RunningServer, signum: int) -> str:
    server.process.send_signal(signum)
    assert server.process.wait(timeout=15) == 0
    return server.log()


def test_each_line_is_written_once_and_none_is_noise(tmp_path: Path) -> None:
    with serve(REPO, log_path=tmp_path / "up.log", env=WITH_DEV_OLLAMA) as up:
        assert httpx.get(f"{up.url}/api/my/chat/countdown", params={"input": "0"},
                         timeout=30).status_code == 200
        assert wait_until(lambda: "/api/my/chat/countdown" in up.log())
        log = up.log()
    for line in ("Started server process", "Application startup complete",
                 '"GET /api/my/chat/countdown?input=0 HTTP/1.1" 200'):
        assert log.count(line) == 1, (line, log)
    assert "lifespan" not in log


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_stops_up_with_no_traceback_with_tls_connections_open(
        tmp_path: Path, signum: int) -> None:
    with serve(REPO, log_path=tmp_path / "up.log", env=WITH_DEV_OLLAMA) as up:
        dev = httpx.URL("https://" + up.log().split("https://")[1].split()[0])
        # a connection to the dev Ollama's front door, left open across the stop
        with httpx.Client(verify=False, timeout=10) as client:
            assert client.get(dev.join("/api/version")).status_code == 200
            log = stop(up, signum)
    assert "Traceback" not in log
    assert "Finished server process" in log


def test_one_sigint_stops_up_started_in_the_background(tmp_path: Path) -> None:
    with serve(REPO, log_path=tmp_path / "up.log", program=IN_BACKGROUND) as up:
        assert httpx.get(up.url + "/", timeout=10).status_code == 200
        log = stop(up, signal.SIGINT)
    assert "Traceback" not in log


def test_a_stopped_example_chat_says_so_in_one_line(tmp_path: Path) -> None:
    with serve(REPO, log_path=tmp_path / "up.log", env=WITH_DEV_OLLAMA) as up:
        with httpx.stream("POST", f"{up.url}/web/_/chat/countdown",
                          json={"input": "30", "delay": 0.2}, timeout=30) as response:
            next(response.iter_lines())  # the first number, then the reader goes away
        assert wait_until(lambda: "stopped: the reader went away" in up.log(), timeout=30)
        assert "Traceback" not in up.log()


def test_the_runtimes_step_does_not_warn_of_what_up_provides(tmp_path: Path) -> None:
    """`make run` runs `streamwhisk runtimes` first: OLLAMA_HOST is unset there, and `up`
    then provides a dev Ollama; a warning about it would be untrue."""
    done = subprocess.run([sys.executable, "-m", "streamwhisk", "runtimes", "--project",
                           str(REPO)], capture_output=True, text=True, timeout=300,
                          env={**without_ollama_host(), "STREAMWHISK_LOGIN_FILE":
                               str(tmp_path / "none.env")})
    assert done.returncode == 0, done.stderr
    assert "chat/simple" in done.stderr
    assert "unset" not in done.stderr
