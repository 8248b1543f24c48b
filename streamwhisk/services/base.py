"""A platform service as the cluster gives it to actions, run here as a real server on a free
loopback port: what a service is, and the process that runs it.

A service has a name, the variables a cluster's login gives for it (REDIS_URL, ...), the
program that serves it (found on PATH; a missing one is a one-line error with the install
command), and a way to tell it is ready. Its data lives in a folder of its own under
streamwhisk's data folder, per project, kept across restarts, owned by one run at a time (a
lock held as long as the service runs). It runs under its keeper (supervise.py), which ends
it with the server however the server ends, so none is left behind, even after a kill; and it
gets an environment of its own, never the server's (no user secret reaches a service).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import streamwhisk

from ..errors import DataInUse, NotReadyInTime, PortTaken, ServiceUnavailable

# how long a start may take on an idle machine; a busy one gets more, in proportion to its
# load per core (measured while waiting), and a start that still does not answer is tried
# once more
READY_WITHIN_S = 20.0
OWNER = ".owner"  # in a service's folder: locked by the run that serves it, naming it
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


@dataclass(frozen=True)
class Keeping:
    """How the keeper runs a service: the signal that stops it cleanly, and, for a service
    with inner ports, the one port published from a network namespace of its own."""

    stop_signal: int = signal.SIGTERM
    publish_from: int | None = None  # the inner port the public one leads to
    ready_inside: tuple[str, str] | None = None  # (url, text it answers) once it can serve
    leaves: tuple[str, ...] = ()  # files it makes outside its folder, removed after it ends


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

    def environment(self, address: Address) -> dict[str, str]:
        """What its process needs in its environment beyond the basics (a key it checks)."""
        ...

    def keeping(self, address: Address) -> Keeping:
        """How its keeper runs it (asked after `command`, which may choose inner ports)."""
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


def write_private(path: Path, text: str) -> None:
    """`text` into `path`, readable by this user only from its first byte (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def secret_of(folder: Path) -> str:
    """The service's secret, made on its first start and kept (0600) beside its data."""
    path = folder / ".secret"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, os.urandom(18).hex())
    return path.read_text().strip()


def service_environment(address: Address, **extra: str) -> dict[str, str]:
    """What a service's process sees: where programs are, a locale, its folder as HOME, and
    streamwhisk's own modules (our Milvus server is one); nothing of the server's."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(address.data), "TMPDIR": str(address.data),
            "PYTHONPATH": str(Path(streamwhisk.__file__).resolve().parents[1]), **extra}


@dataclass
class Owner:
    """The lock on a service's data folder, held while the service runs (its descriptor is
    inherited by the keeper and the service, so the lock lives as long as they do)."""

    folder: Path
    fd: int = field(default=-1)

    @classmethod
    def claim(cls, folder: Path, service: str) -> Owner:
        """The folder's lock, or DataInUse naming the process that holds it."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(folder / OWNER, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 500).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DataInUse(f"{service} is running: its data ({folder}) is in use by "
                            f"{holder}; stop that run first") from None
        os.ftruncate(fd, 0)
        command = sys.argv[1] if len(sys.argv) > 1 else "up"
        os.write(fd, f"streamwhisk {command} (pid {os.getpid()})".encode())
        return cls(folder, fd)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def in_use(folder: Path) -> bool:
    """Whether a run holds this service folder's lock now."""
    try:
        fd = os.open(folder / OWNER, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


@dataclass
class Running:
    """A service's process (its keeper); `stop` ends it."""

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
            try:  # the keeper's own grace, then its SIGKILL, come first
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def last_words(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return " / ".join(lines[-3:])
        return ""


def start(service: Service, address: Address, owner: Owner) -> Running:
    """Start the service and wait until it answers; ServiceUnavailable says why not. A port
    taken between its choice and the service's bind is chosen again (the service's own
    inner ports are chosen by `command`, so a new command has new ones); a start that does
    not answer in time is tried once more."""
    address.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    service.prepare(address)
    attempts, slow = STARTS_WHEN_A_PORT_IS_TAKEN, 0
    while True:
        try:
            return _start_once(service, address, owner)
        except PortTaken:
            attempts -= 1
            if attempts == 0:
                raise
        except NotReadyInTime:
            slow += 1
            if slow == 2:
                raise


def keeper_orders(service: Service, address: Address, owner: Owner) -> dict[str, Any]:
    command = service.command(address)
    keeping = service.keeping(address)
    orders: dict[str, Any] = {
        "command": command,
        "env": service_environment(address, **service.environment(address)),
        "cwd": str(address.data), "stop_signal": int(keeping.stop_signal), "keep": [owner.fd],
        "parent": os.getpid(),
        "remove_after": list(keeping.leaves)}
    if keeping.publish_from is not None:
        ready = keeping.ready_inside
        orders["publish"] = {"host": address.host, "port": address.port,
                             "to": keeping.publish_from,
                             "ready": {"url": ready[0], "contains": ready[1]} if ready else None}
    return orders


def _start_once(service: Service, address: Address, owner: Owner) -> Running:
    orders = json.dumps(keeper_orders(service, address, owner)).encode()
    log = address.data / f"{service.name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-S", "-m", "streamwhisk.services.supervise"], stdin=subprocess.PIPE,
            stdout=out, stderr=subprocess.STDOUT, cwd=address.data, pass_fds=(owner.fd,),
            env=service_environment(address))  # it asks for its parent-death signal itself
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write(orders)
    process.stdin.close()
    running = Running(service, address, process, log)
    began, waited = time.monotonic(), 0.0
    while waited < READY_WITHIN_S * _busy():
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
        waited = time.monotonic() - began
    running.stop()
    raise NotReadyInTime(f"{service.name} did not answer within {waited:.0f} s (the machine's "
                         f"load: {os.getloadavg()[0]:.1f}; its log: {log})")


def _busy() -> float:
    """How much longer than on an idle machine a start may take now: the load per core."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
