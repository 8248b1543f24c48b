"""Start `streamwhisk up`, `streamwhisk streamer` or the dev Ollama as real processes on free
loopback ports, as `streamwhisk test` and `shell` do and the tests' fixtures do. A server
started so says where it listens in a ready file (`STREAMWHISK_READY_FILE`, written by
`hosting/serving.py` once it listens), never in a line of its log to be parsed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .actionloop.tree import children
from .hosting import READY_FILE
from .lifetime import tied


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def workers(self) -> list[int]:
        """The server's live workers: forked by its one child, the fork server."""
        return [worker for child in children(self.pid) for worker in children(child)]

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@contextmanager
def serve(
    project: Path,
    *options: str,
    log_path: Path,
    env: dict[str, str | None] | None = None,
    startup_timeout: float = 20.0,
    program: list[str] | None = None,
) -> Iterator[RunningServer]:
    """`streamwhisk up --project PROJECT --port 0 OPTIONS...`, stopped on exit; `program` is
    another streamwhisk to run (an installed one), instead of this interpreter's."""
    command = ["up", "--project", str(project), "--port", "0", *options]
    with _launch(command, log_path, env, startup_timeout, program) as running:
        yield running


@contextmanager
def serve_streamer(
    apihost: str,
    *options: str,
    log_path: Path,
    env: dict[str, str | None] | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[RunningServer]:
    """`streamwhisk streamer --apihost APIHOST --port 0 OPTIONS...`, stopped on exit."""
    command = ["streamer", "--apihost", apihost, "--port", "0", *options]
    with _launch(command, log_path, env, startup_timeout) as running:
        yield running


@contextmanager
def serve_dev_ollama(
    *options: str,
    log_path: Path,
    env: dict[str, str | None] | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[RunningServer]:
    """`streamwhisk ollama serve --port 0 OPTIONS...`, stopped on exit."""
    command = ["ollama", "serve", "--port", "0", *options]
    with _launch(command, log_path, env, startup_timeout) as running:
        yield running


@contextmanager
def _launch(arguments: list[str], log_path: Path, env: dict[str, str | None] | None,
            startup_timeout: float,
            program: list[str] | None = None) -> Iterator[RunningServer]:
    command = tied([*(program or [sys.executable, "-m", "streamwhisk"]), *arguments])
    ready = log_path.with_name(f".{log_path.name}.ready")
    ready.unlink(missing_ok=True)
    # a None value unsets the variable
    environment = {**os.environ, **(env or {}), READY_FILE: str(ready)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env={k: v for k, v in environment.items() if v is not None})
    try:
        url = _wait_for_url(process, log_path, ready, startup_timeout)
        ready.unlink(missing_ok=True)
        yield RunningServer(url, process, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_url(process: subprocess.Popen[bytes], log_path: Path, ready: Path,
                  timeout: float) -> str:
    """The address the server wrote in its ready file (whole: it is written by a rename)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return ready.read_text().strip()
        except FileNotFoundError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"streamwhisk exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')}")
        time.sleep(0.02)
    raise TimeoutError(f"streamwhisk did not start within {timeout} s:\n{log_path.read_text()}")
