"""Which platform services a run starts, the variables they give the platform layer, and
their processes, started in parallel in the background and stopped with the run.

A project uses a service when an action's `#--param` names one of its variables (`$REDIS_URL`),
or when `--services` names it. `--services auto` (the default) starts each used service that
no configuration layer already points elsewhere; `always` starts each used one and its values
win over every layer, for this run (a course project's tests/.env names the devcontainer's
hosts); `all` starts every service; `none` starts none; `redis,...` names them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ServiceUnavailable
from ..paths import data_root, project_key
from ..project import Project
from .base import OWNER, Address, Owner, Running, Service, free_port, in_use, secret_of, start
from .milvus import Milvus
from .postgres import Postgres
from .redis import Redis
from .s3 import S3

log = logging.getLogger("streamwhisk.services")

SERVICES: dict[str, Service] = {"redis": Redis(), "s3": S3(), "postgres": Postgres(),
                                "milvus": Milvus()}
STATE = ".running.json"  # in a service's folder while it runs: its pid and its variables
CHOICES = ("auto", "always", "all", "none")


def wanted(choice: str, used: Iterable[str], configured: Iterable[str]) -> tuple[list[Service],
                                                                              bool]:
    """The services to start for `--services CHOICE`, and whether their values override the
    layers; `used` and `configured` are the variables the actions name and the layers set."""
    used, configured = set(used), set(configured)
    if choice == "none":
        return [], False
    if choice == "all":
        return list(SERVICES.values()), True
    if choice in ("auto", "always"):
        chosen = [s for s in SERVICES.values() if used & set(s.variables)]
        if choice == "auto":
            chosen = [s for s in chosen if not configured & set(s.variables)]
        return chosen, choice == "always"
    names = [name.strip() for name in choice.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ConfigError(f"--services: no service {', '.join(unknown)}; choose from "
                          f"{', '.join(SERVICES)}, or {', '.join(CHOICES)}")
    return [SERVICES[name] for name in names], True


def data_folder(project: Path, scope: str, service: str) -> Path:
    """Per project (and apart for tests), kept across restarts."""
    return data_root() / "services" / project_key(project) / scope / service


@dataclass
class Services:
    """The services of one run: their addresses and values now, their processes soon."""

    chosen: list[Service]
    addresses: dict[str, Address]
    namespace: str
    override: bool = False  # their values win over every layer (--services always, or named)
    running: dict[str, Running] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def plan(cls, project: Project, choice: str, namespace: str) -> Services:
        """The services a run of the project starts for `--services CHOICE`, their addresses
        chosen now."""
        configured = set(project.config.settings(include_environment=True))
        chosen, override = wanted(choice, used_variables(project.variables()), configured)
        addresses = {}
        for service in chosen:
            folder = data_folder(project.root, project.scope, service.name)
            addresses[service.name] = Address("127.0.0.1", free_port(), folder,
                                              secret_of(folder), namespace)
        return cls(chosen, addresses, namespace, override)

    def values(self) -> dict[str, str]:
        """What the platform layer gets: each service's variables."""
        found: dict[str, str] = {}
        for service in self.chosen:
            found |= service.values(self.addresses[service.name])
        return found

    def s3_url(self) -> str | None:
        """The S3 service's own address (the s3.<host> relay's upstream), when it runs."""
        values = self.values()
        return (f"http://{values['S3_HOST']}:{values['S3_PORT']}" if "S3_HOST" in values
                else None)

    def _values_of(self, service: Service) -> dict[str, str]:
        return service.values(self.addresses[service.name])

    def describe(self) -> list[str]:
        return [f"service {s.name} at {self.addresses[s.name].host}:"
                f"{self.addresses[s.name].port}, data in {self.addresses[s.name].data}"
                for s in self.chosen]

    def claim(self) -> None:
        """Each one's data folder for this run: DataInUse, naming the run that holds one,
        and none is claimed."""
        try:
            for service in self.chosen:
                if service.name not in self.owners:
                    self.owners[service.name] = Owner.claim(
                        self.addresses[service.name].data, service.name)
        except ServiceUnavailable:
            self._release()
            raise

    def start_in_background(self) -> None:
        """Claim their data folders, then start each in a thread of its own: they come up
        together, and the server's first answer waits for none of them."""
        self.claim()
        for service in self.chosen:
            thread = threading.Thread(target=self._start, args=(service,), daemon=True,
                                      name=f"service {service.name}")
            thread.start()
            self._threads.append(thread)

    def ready(self, within_s: float = 30.0) -> None:
        """Until each has started or failed."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline and any(
                s.name not in self.running and s.name not in self.failed for s in self.chosen):
            time.sleep(0.01)

    def _start(self, service: Service) -> None:
        """Start it, then stay with it: the thread that starts a process is the parent its
        death signal (PR_SET_PDEATHSIG) follows, so it lives as long as the service does. A
        service that stops by itself is started again, once; a second stop is its end."""
        for attempt in range(2):
            began = time.monotonic()
            try:
                running = self.running[service.name] = start(
                    service, self.addresses[service.name], self.owners[service.name])
            except ServiceUnavailable as exc:
                self.failed[service.name] = str(exc)
                log.warning("service %s did not start: %s", service.name, exc)
                return
            self.failed.pop(service.name, None)
            log.info("service %s ready in %.2f s", service.name, time.monotonic() - began)
            code = self._serve(service, running)
            if self._stopping.is_set():
                return
            self.failed[service.name] = f"it stopped (exit {code}): {running.last_words()}"
            again = "starting it again" if attempt == 0 else "not again: it stays stopped"
            log.warning("service %s stopped unexpectedly (exit %s): %s (its log: %s); %s",
                        service.name, code, running.last_words(), running.log, again)

    def _serve(self, service: Service, running: Running) -> int:
        """Until the process ends (its state file there meanwhile); its exit code."""
        state = self.addresses[service.name].data / STATE
        state.write_text(json.dumps({"pid": running.process.pid, "server": os.getpid(),
                                     **self._values_of(service)}))
        state.chmod(0o600)
        code = running.process.wait()
        state.unlink(missing_ok=True)
        return code

    def check(self, variables: Iterable[str]) -> None:
        """ServiceUnavailable when a service these variables name is down, with why. Asked
        before every activation: with every service up, it looks at nothing."""
        if not self.failed:
            return
        wanted_now = set(variables)
        for service in self.chosen:
            why = self.failed.get(service.name)
            if why and wanted_now & set(service.variables):
                raise ServiceUnavailable(
                    f"the {service.name} service this action uses is not running ({why}); "
                    f"restart streamwhisk up, or see its log in "
                    f"{self.addresses[service.name].data}")

    def stop(self) -> None:
        self._stopping.set()
        self.ready(5)
        services = list(self.running.values())
        for running in services:  # all at once: the slowest alone sets how long it takes
            running.ask_to_stop()
        for running in services:
            running.stop()
        for thread in self._threads:
            thread.join(10)
        self._release()

    def _release(self) -> None:
        for owner in self.owners.values():
            owner.release()
        self.owners.clear()


def used_variables(variables: Mapping[str, object]) -> set[str]:
    return {name for name in variables if any(name in s.variables for s in SERVICES.values())}


@dataclass(frozen=True)
class Status:
    name: str
    folder: Path
    running: bool
    values: dict[str, str]


def statuses(project: Path, scope: str) -> list[Status]:
    """Each service of the project: its folder, whether it runs, and (running) its
    variables."""
    found = []
    for name in SERVICES:
        folder = data_folder(project, scope, name)
        try:
            state = json.loads((folder / STATE).read_text())
        except (OSError, ValueError):
            state = {}
        alive = bool(state) and in_use(folder)
        values = {k: str(v) for k, v in state.items() if k not in ("pid", "server")}
        found.append(Status(name, folder, alive, values if alive else {}))
    return found


def reset(project: Path, scope: str, name: str) -> Path:
    """Empty a service's data; DataInUse, naming the run, while one serves it."""
    if name not in SERVICES:
        raise ConfigError(f"no service {name}: choose from {', '.join(SERVICES)}")
    folder = data_folder(project, scope, name)
    owner = Owner.claim(folder, name)
    try:  # everything but the lock itself, which another run may be waiting on
        for entry in folder.iterdir():
            if entry.name != OWNER:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
    finally:
        owner.release()
    return folder
