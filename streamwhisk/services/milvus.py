"""Milvus, as OpenServerless gives it: `MILVUS_HOST` (host:port, since the course writes
`http://{MILVUS_HOST}`), `MILVUS_PORT`, `MILVUS_DB_NAME`, `MILVUS_TOKEN`. Served by Milvus
Lite's gRPC server (the `milvus-lite` package that comes with streamwhisk, through
`milvus_server.py`), its data in the service's folder. It refuses every call without the
project's token, as a Milvus with authentication on does."""

from __future__ import annotations

import socket
import sys

from .base import Address, Keeping

TOKEN = "STREAMWHISK_MILVUS_TOKEN"  # what our Milvus server checks every call against


class Milvus:
    name: str = "milvus"
    variables: tuple[str, ...] = ("MILVUS_HOST", "MILVUS_PORT", "MILVUS_DB_NAME",
                                  "MILVUS_TOKEN")

    def keeping(self, address: Address) -> Keeping:
        return Keeping()

    def environment(self, address: Address) -> dict[str, str]:
        return {TOKEN: self.values(address)["MILVUS_TOKEN"]}

    def values(self, address: Address) -> dict[str, str]:
        return {"MILVUS_HOST": f"{address.host}:{address.port}",
                "MILVUS_PORT": str(address.port), "MILVUS_DB_NAME": "default",
                "MILVUS_TOKEN": f"root:{address.secret}"}

    def prepare(self, address: Address) -> None:
        pass  # it makes its files itself

    def command(self, address: Address) -> list[str]:
        return [sys.executable, "-m", "streamwhisk.services.milvus_server", "--data-dir",
                str(address.data / "store"), "--host", address.host, "--port",
                str(address.port)]

    def ready(self, address: Address) -> bool:
        try:
            with socket.create_connection((address.host, address.port), timeout=1):
                return True
        except OSError:
            return False
