"""Redis, as OpenServerless gives it: `REDIS_URL` (with its password) and `REDIS_PREFIX`, the
namespace's own key prefix. Served by Debian's `redis-server` (or Valkey's), data kept in the
service's folder: an append-only file synced every second, so a kill of Redis loses at most
the last second of writes (login tokens included). Its password is in a 0600 configuration
file in its folder, never on its command line (which every local user can read)."""

from __future__ import annotations

import contextlib
import shutil
import socket

from ..errors import ServiceUnavailable
from .base import Address, Keeping, write_private

INSTALL = ("install Debian's redis-server package (sudo apt-get install redis-server; "
           "`make setup` does it), or Valkey's valkey-server")


class Redis:
    name: str = "redis"
    variables: tuple[str, ...] = ("REDIS_URL", "REDIS_PREFIX")

    def keeping(self, address: Address) -> Keeping:
        return Keeping()

    def environment(self, address: Address) -> dict[str, str]:
        return {}

    def values(self, address: Address) -> dict[str, str]:
        return {"REDIS_URL": f"redis://default:{address.secret}@{address.host}:{address.port}",
                "REDIS_PREFIX": f"{address.namespace}:"}

    def prepare(self, address: Address) -> None:
        pass  # it makes its files itself

    def command(self, address: Address) -> list[str]:
        server = shutil.which("redis-server") or shutil.which("valkey-server")
        if server is None:
            raise ServiceUnavailable(f"redis-server is not installed: {INSTALL}")
        config = address.data / "redis.conf"
        write_private(config, f"port {address.port}\nbind {address.host}\ndir {address.data}\n"
                              "dbfilename dump.rdb\nsave \"\"\nappendonly yes\n"
                              "appendfsync everysec\ndaemonize no\nprotected-mode yes\n"
                              f"requirepass {address.secret}\nlogfile \"\"\n")
        return [server, str(config)]

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
