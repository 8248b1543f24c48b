"""Milvus, as OpenServerless gives it: `MILVUS_HOST` (host:port, since the course writes
`http://{MILVUS_HOST}`), `MILVUS_PORT`, `MILVUS_DB_NAME`, `MILVUS_TOKEN`. Served by Milvus
Lite's server (the `milvus-lite` package that comes with streamwhisk), its data in the
service's folder, on a Unix socket of its user's only (in /tmp: a socket's path is short),
behind `milvus_server.py`'s gRPC front, which refuses every call without the project's token,
as a Milvus with authentication on does."""

from __future__ import annotations

import hashlib
import socket
import sys
import tempfile
from pathlib import Path

from .base import Address, Keeping

TOKEN = "STREAMWHISK_MILVUS_TOKEN"  # what our Milvus server checks every call against


class Milvus:
    name: str = "milvus"
    variables: tuple[str, ...] = ("MILVUS_HOST", "MILVUS_PORT", "MILVUS_DB_NAME",
                                  "MILVUS_TOKEN")

    def keeping(self, address: Address) -> Keeping:
        return Keeping(leaves=(str(self.socket(address)),))

    @staticmethod
    def socket(address: Address) -> Path:
        """Milvus Lite's own socket: a path of at most 108 bytes, one per data folder."""
        folder = hashlib.sha256(str(address.data.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"streamwhisk-milvus-{folder}.sock"

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
                str(address.data / "lite"), "--socket", str(self.socket(address)), "--host",
                address.host, "--port", str(address.port)]

    def ready(self, address: Address) -> bool:
        try:
            with socket.create_connection((address.host, address.port), timeout=1):
                return True
        except OSError:
            return False
