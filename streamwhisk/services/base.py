"""A platform service as the cluster gives it to actions, run here as a real server on a free
loopback port: what a service is, and the process that runs it.

A service has a name, the variables a cluster's login gives for it (REDIS_URL, ...), the
program that serves it (found on PATH; a missing one is a one-line error with the install
command), and a way to tell it is ready. Its data lives in a folder of its own under
streamwhisk's data folder, per project, kept across restarts. The process dies with the
server that started it (PR_SET_PDEATHSIG), so none is left behind, even after a kill.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import ServiceUnavailable

_PR_SET_PDEATHSIG = 1
READY_WITHIN_S = 20.0
PORTS_FROM = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
STARTS_WHEN_A_PORT_IS_TAKEN = 3
# what Redis, Postgres, SeaweedFS and our Milvus server say when a port they were given is taken
PORT_TAKEN = re.compile(r"address already in use|port \d+ .*not available|cannot listen on",
                        re.IGNORECASE)
_random = random.SystemRandom()


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    data: Path  # the service's own folder
    secret: str  # its password or key, made once per data folder
    namespace: str = "guest"  # whose it is: its prefix, buckets, database


class Service(Protocol):
    name: str
    variables: tuple[str, ...]  # what the platform layer gets from it

    def values(self, address: Address) -> dict[str, str]:
        """The variables, as a cluster's login gives them for this service."""
        ...

    def prepare(self, address: Address) -> None:
        """What must exist before its first start (a database cluster), made once."""
        ...

    def command(self, address: Address) -> list[str]:
        """The program and its arguments (the program found on PATH, or ServiceUnavailable
        saying how to install it)."""
        ...

    def ready(self, address: Address) -> bool:
        """True once it answers."""
        ...


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on, below the kernel's ephemeral range.

    A port the kernel hands out for `bind(0)` is one it may hand to the next outgoing
    connection too, before the service has bound it; a port below that range is only ever
    taken by someone choosing it as we do (and `start` tries again if that happens)."""
    below = _ephemeral_ports_start()
    for _attempt in range(200 if below - PORTS_FROM >= 1000 else 0):
        port = _random.randrange(PORTS_FROM, below)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # a crowded or tiny range: let the kernel choose
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _ephemeral_ports_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def secret_of(folder: Path) -> str:
    """The service's secret, made on its first start and kept (0600) beside its data."""
    path = folder / ".secret"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(os.urandom(18).hex())
    return path.read_text().strip()


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Running:
    """A service's process; `stop` ends it."""

    service: Service
    address: Address
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask_to_stop(self) -> None:
        """SIGTERM, not waiting: several services stop together."""
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def last_words(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return " / ".join(lines[-3:])
        return ""


def start(service: Service, address: Address) -> Running:
    """Start the service and wait until it answers; ServiceUnavailable says why not. A port
    taken between its choice and the service's bind is chosen again (the service's own
    inner ports are chosen by `command`, so a new command has new ones)."""
    address.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    service.prepare(address)
    attempts = STARTS_WHEN_A_PORT_IS_TAKEN
    while True:
        try:
            return _start_once(service, address)
        except PortTaken:
            attempts -= 1
            if attempts == 0:
                raise


class PortTaken(ServiceUnavailable):
    """The service exited at start because a port it was given was taken."""


def _start_once(service: Service, address: Address) -> Running:
    command = service.command(address)
    log = address.data / f"{service.name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=address.data,
                                   preexec_fn=_die_with_parent)
    running = Running(service, address, process, log)
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if not running.alive():
            words = running.last_words()
            if PORT_TAKEN.search(words):
                raise PortTaken(f"{service.name} could not listen: {words} (its log: {log})")
            raise ServiceUnavailable(
                f"{service.name} exited at start: {words} (its log: {log}); "
                f"if its data is damaged, `streamwhisk services reset {service.name}` "
                "empties it")
        if service.ready(address):
            return running
        time.sleep(0.02)
    running.stop()
    raise ServiceUnavailable(f"{service.name} did not answer within {READY_WITHIN_S:.0f} s "
                             f"(its log: {log})")
