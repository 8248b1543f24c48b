"""Start `streamwhisk up` as a real process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_READY = re.compile(r"streamwhisk serving .* at (http://\S+)")


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

    def children(self) -> list[int]:
        """The server's live child processes: its warm workers."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@contextmanager
def serve(
    project: Path,
    *options: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[RunningServer]:
    command = [sys.executable, "-m", "streamwhisk", "up", "--project", str(project),
               "--port", "0", *options]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    try:
        url = _wait_for_url(process, log_path, startup_timeout)
        yield RunningServer(url, process, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_url(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        match = _READY.search(text)
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"streamwhisk up exited with {process.returncode}:\n{text}")
        time.sleep(0.05)
    raise TimeoutError(f"streamwhisk up did not start within {timeout} s:\n{log_path.read_text()}")
