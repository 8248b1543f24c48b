"""Redis, as OpenServerless gives it: `REDIS_URL` (with its password) and `REDIS_PREFIX`, the
namespace's own key prefix. Served by Debian's `redis-server` (or Valkey's), data kept in the
service's folder (an RDB snapshot every minute when keys changed, and at a clean stop)."""

from __future__ import annotations

import contextlib
import shutil
import socket

from ..errors import ServiceUnavailable
from .base import Address

INSTALL = ("install Debian's redis-server package (sudo apt-get install redis-server; "
           "`make setup` does it), or Valkey's valkey-server")


class Redis:
    name: str = "redis"
    variables: tuple[str, ...] = ("REDIS_URL", "REDIS_PREFIX")

    def values(self, address: Address) -> dict[str, str]:
        return {"REDIS_URL": f"redis://default:{address.secret}@{address.host}:{address.port}",
                "REDIS_PREFIX": f"{address.namespace}:"}

    def prepare(self, address: Address) -> None:
        pass  # it makes its files itself

    def command(self, address: Address) -> list[str]:
        server = shutil.which("redis-server") or shutil.which("valkey-server")
        if server is None:
            raise ServiceUnavailable(f"redis-server is not installed: {INSTALL}")
        return [server, "--port", str(address.port), "--bind", address.host,
                "--dir", str(address.data), "--dbfilename", "dump.rdb", "--save", "60 1",
                "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                "--requirepass", address.secret, "--logfile", ""]

    def ready(self, address: Address) -> bool:
        """A PING answered (with the password: AUTH first)."""
        with contextlib.suppress(OSError), socket.create_connection(
                (address.host, address.port), timeout=1) as connection:
            secret = address.secret.encode()
            connection.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n"
                               % (len(secret), secret))
            answer = b""
            while b"PONG" not in answer and len(answer) < 200:
                chunk = connection.recv(200)
                if not chunk:
                    break
                answer += chunk
            return b"+PONG" in answer
        return False
